// The key that signs session cookies: AUTH_SECRET, or on the embedded default a random one kept in
// DATA_DIR (mode 0600) so sessions survive restarts without anyone having to configure anything.
import { randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { getConfig } from "../config";

let cached: string | undefined;

export function getAuthSecret(): string {
  if (cached) return cached;
  const config = getConfig();
  if (config.AUTH_SECRET) return (cached = config.AUTH_SECRET);
  const file = path.resolve(config.DATA_DIR, "auth-secret");
  try {
    cached = readFileSync(file, "utf8").trim();
  } catch {
    mkdirSync(path.dirname(file), { recursive: true });
    const secret = randomBytes(48).toString("base64url");
    try {
      writeFileSync(file, secret, { mode: 0o600, flag: "wx" });
      cached = secret;
    } catch {
      cached = readFileSync(file, "utf8").trim(); // another process wrote it first
    }
  }
  return cached!;
}
