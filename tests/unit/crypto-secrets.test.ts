import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { resetConfig } from "@/lib/config";
import { DecryptError } from "@/lib/crypto/envelope";
import {
  formatKeyLine,
  generateMasterKey,
  getKeyRing,
  KeyConfigError,
  parseKeyList,
  resetKeyRing,
  ringFrom,
  UnknownKeyError,
} from "@/lib/crypto/keys";
import {
  decryptSecretWith,
  encryptSecretWith,
  parseSecret,
  rewrapSecretWith,
} from "@/lib/crypto/secrets";

const saved = { ...process.env };
const dirs: string[] = [];
async function tempDir() {
  const d = await mkdtemp(path.join(tmpdir(), "sot-crypto-"));
  dirs.push(d);
  return d;
}
function setEnv(env: Record<string, string | undefined>) {
  for (const k of ["MASTER_KEYS", "MASTER_KEY_FILE", "DATABASE_URL", "DATA_DIR", "AUTH_SECRET"]) delete process.env[k];
  Object.assign(process.env, env);
  resetConfig();
  resetKeyRing();
}
afterEach(() => {
  process.env = { ...saved };
  resetConfig();
  resetKeyRing();
});
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

// The legacy form (sot:v1:, what KES re-seals into the KES form), sealed with the process's key ring.
const encryptSecret = async (plain: string) => encryptSecretWith(await getKeyRing(), plain);
const decryptSecret = async (c: string) => decryptSecretWith(await getKeyRing(), c);
const envKeys = (...keys: ReturnType<typeof generateMasterKey>[]) => keys.map((k) => `${k.id}:${k.key.toString("base64")}`).join(",");

describe("legacy secrets at rest (sot:v1:) and the key ring", () => {
  it("round-trips through MASTER_KEYS and never contains the plaintext or the key", async () => {
    const k = generateMasterKey();
    setEnv({ MASTER_KEYS: envKeys(k), DATA_DIR: await tempDir() });
    const plain = "secret_notion_token_ünïcode_✓";
    const c = await encryptSecret(plain);
    expect(c.startsWith(`sot:v1:${k.id}:`)).toBe(true);
    expect(c).not.toContain(plain);
    expect(c).not.toContain(k.key.toString("base64url"));
    // Two encryptions of the same secret differ (fresh data key and nonce each time).
    expect(await encryptSecret(plain)).not.toBe(c);
    expect(await decryptSecret(c)).toBe(plain);
  });

  it("embedded default without a key generates DATA_DIR/master-keys with mode 0600 and reuses it", async () => {
    const dir = await tempDir();
    setEnv({ DATA_DIR: dir });
    const c = await encryptSecret("tok");
    const file = path.join(dir, "master-keys");
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    const ring1 = await getKeyRing();
    resetKeyRing();
    const ring2 = await getKeyRing();
    expect(ring2.current.id).toBe(ring1.current.id);
    expect(await decryptSecret(c)).toBe("tok");
    expect(await readFile(file, "utf8")).toContain(ring1.current.id);
  });

  it("with DATABASE_URL and no key, the key ring is refused with a message naming the settings", async () => {
    setEnv({ DATABASE_URL: "postgresql://x@127.0.0.1/none", AUTH_SECRET: "x".repeat(40), DATA_DIR: await tempDir() });
    await expect(encryptSecret("tok")).rejects.toThrow(KeyConfigError);
    await expect(encryptSecret("tok")).rejects.toThrow(/MASTER_KEY_FILE.*MASTER_KEYS/s);
  });

  it("rotation: old secrets stay readable; re-wrap changes only the wrapped key, not the payload", () => {
    const k1 = generateMasterKey();
    const k2 = generateMasterKey();
    const before = encryptSecretWith(ringFrom([k1], { kind: "env" }), "webhook-token");
    const rotated = ringFrom([k1, k2], { kind: "env" });
    expect(decryptSecretWith(rotated, before)).toBe("webhook-token");
    const after = rewrapSecretWith(rotated, before);
    const a = parseSecret(before);
    const b = parseSecret(after);
    expect(b.keyId).toBe(k2.id);
    expect(b.ciphertext.equals(a.ciphertext)).toBe(true);
    expect(b.nonce.equals(a.nonce)).toBe(true);
    expect(b.tag.equals(a.tag)).toBe(true);
    expect(b.wrappedKey.equals(a.wrappedKey)).toBe(false);
    // Once re-wrapped, the old key is no longer needed.
    expect(decryptSecretWith(ringFrom([k2], { kind: "env" }), after)).toBe("webhook-token");
  });

  it("refuses a missing key id, a wrong key with the right id, altered and truncated values", () => {
    const k1 = generateMasterKey();
    const ring = ringFrom([k1], { kind: "env" });
    const c = encryptSecretWith(ring, "tok");
    expect(() => decryptSecretWith(ringFrom([generateMasterKey()], { kind: "env" }), c)).toThrow(UnknownKeyError);
    const impostor = { id: k1.id, key: generateMasterKey().key };
    expect(() => decryptSecretWith(ringFrom([impostor], { kind: "env" }), c)).toThrow(/cannot be unwrapped with master key/);
    const parts = c.split(":");
    const ct = Buffer.from(parts[5], "base64url");
    ct[0] ^= 1;
    parts[5] = ct.toString("base64url");
    expect(() => decryptSecretWith(ring, parts.join(":"))).toThrow(/integrity check/);
    expect(() => decryptSecretWith(ring, c.slice(0, 40))).toThrow(DecryptError);
  });

  it("key lists: parses env and file syntax, rejects bad keys without echoing them", () => {
    const k = generateMasterKey();
    expect(parseKeyList(`# comment\n${formatKeyLine(k)}\n`, "file")[0].key.equals(k.key)).toBe(true);
    const bad = "c2hvcnQ=";
    let msg = "";
    try {
      parseKeyList(`k1:${bad}`, "MASTER_KEYS");
    } catch (e) {
      msg = (e as Error).message;
    }
    expect(msg).toMatch(/must be 32 bytes/);
    expect(msg).not.toContain(bad);
    expect(() => parseKeyList(`${formatKeyLine(k)}\n${formatKeyLine(k)}`, "f")).toThrow(/listed twice/);
  });
});
