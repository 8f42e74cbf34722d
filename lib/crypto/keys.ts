// The key service's key ring: master keys with ids, from MASTER_KEYS (environment) or MASTER_KEY_FILE.
// Master keys never enter the database, logs or error messages — only their ids do.
//
// Both sources list keys oldest first; the LAST key is the current one (new data is wrapped with
// it), every other key stays readable so rotation never strands data written before it.
//
// On the embedded default with no key configured, a key file is generated under DATA_DIR (mode 0600)
// on first use. With DATABASE_URL a missing key is an error only when something must be encrypted or
// decrypted: several processes on several machines share that database, and a key silently made up
// on one of them would leave the others unable to read what it wrote.
import { randomBytes } from "node:crypto";
import { chmod, mkdir, open, readFile, rename, stat } from "node:fs/promises";
import path from "node:path";
import { getConfig, type Config } from "../config";
import { log } from "../log";

export const KEY_ID_RE = /^[A-Za-z0-9_-]{1,40}$/;

export interface MasterKey {
  id: string;
  /** 32 bytes (AES-256). */
  key: Buffer;
}

export interface KeyRing {
  current: MasterKey;
  /** Every readable key by id (the current one included). */
  byId: Map<string, MasterKey>;
  /** Where the keys came from, for messages (never the key material). */
  origin: { kind: "env" | "file" | "generated" | "kes"; file?: string };
  /** Keys known to exist but not opened (e.g. a backup data key KES refused): id → what it is and why. */
  unavailable?: Map<string, string>;
}

/** A key ring is missing or unusable; the message says which setting to fix. */
export class KeyConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "KeyConfigError";
  }
}

/** A key that the ring does not hold (e.g. a snapshot written under a key since removed). */
export class UnknownKeyError extends Error {
  constructor(
    readonly keyId: string,
    what: string,
  ) {
    super(
      `${what} is encrypted with master key "${keyId}", which is not configured. ` +
        `Add that key back to MASTER_KEYS or MASTER_KEY_FILE (old keys must stay listed after a rotation).`,
    );
    this.name = "UnknownKeyError";
  }
}

/** The error for a key the ring does not hold: why, when the ring knows (a key KES refused to open). */
export function missingKeyError(ring: KeyRing, keyId: string, what: string): UnknownKeyError {
  const e = new UnknownKeyError(keyId, what);
  const why = ring.unavailable?.get(keyId);
  if (why) e.message = `${what} is encrypted with ${why}`;
  return e;
}

/** Parses `id:base64` entries (comma- or newline-separated, or `id base64` lines with # comments). */
export function parseKeyList(text: string, where: string): MasterKey[] {
  const keys: MasterKey[] = [];
  const entries = text
    .split("\n")
    .flatMap((l) => l.replace(/#.*$/, "").split(","))
    .map((l) => l.trim())
    .filter(Boolean);
  entries.forEach((entry, i) => {
    const m = /^([^\s:]+)\s*[:\s]\s*(\S+)$/.exec(entry);
    if (!m) throw new KeyConfigError(`${where}: entry ${i + 1} is not "<key id>:<base64 key>"`);
    const [, id, b64] = m;
    if (!KEY_ID_RE.test(id)) throw new KeyConfigError(`${where}: key id "${id}" must be 1-40 letters, digits, _ or -`);
    const key = Buffer.from(b64, "base64");
    // Never echo the key itself: only say what is wrong with it.
    if (key.length !== 32 || key.toString("base64").replace(/=+$/, "") !== b64.replace(/=+$/, "")) {
      throw new KeyConfigError(`${where}: key "${id}" must be 32 bytes in base64 (openssl rand -base64 32)`);
    }
    if (keys.some((k) => k.id === id)) throw new KeyConfigError(`${where}: key id "${id}" is listed twice`);
    keys.push({ id, key });
  });
  return keys;
}

export function ringFrom(keys: MasterKey[], origin: KeyRing["origin"]): KeyRing {
  if (keys.length === 0) throw new KeyConfigError(`no master key found in ${origin.file ?? "MASTER_KEYS"}`);
  return { current: keys[keys.length - 1], byId: new Map(keys.map((k) => [k.id, k])), origin };
}

/** A fresh key with a sortable, recognisable id. */
export function generateMasterKey(now = new Date()): MasterKey {
  const day = now.toISOString().slice(0, 10).replace(/-/g, "");
  return { id: `k${day}-${randomBytes(3).toString("hex")}`, key: randomBytes(32) };
}

export function formatKeyLine(k: MasterKey): string {
  return `${k.id} ${k.key.toString("base64")}`;
}

export async function readKeyFile(file: string): Promise<MasterKey[]> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (err) {
    throw new KeyConfigError(`MASTER_KEY_FILE ${file} cannot be read: ${(err as NodeJS.ErrnoException).code ?? err}`);
  }
  return parseKeyList(text, `MASTER_KEY_FILE ${file}`);
}

/** Writes the key file atomically with mode 0600 (a crash leaves the old file or the new one, never half). */
export async function writeKeyFile(file: string, keys: MasterKey[]): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  const body =
    "# Project SOT master keys: <key id> <base64 32-byte key>, oldest first; the LAST one is current.\n" +
    "# Keep every key that snapshots or stored secrets may still use. Never commit this file.\n" +
    keys.map(formatKeyLine).join("\n") +
    "\n";
  const fh = await open(tmp, "w", 0o600);
  try {
    await fh.writeFile(body);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await chmod(tmp, 0o600);
  await rename(tmp, file);
}

export function defaultKeyFile(config: Config): string {
  return path.resolve(config.DATA_DIR, "master-keys");
}

/** Where the configuration says keys live; "generate" = embedded default with nothing configured. */
export function keySource(config: Config): { kind: "env" } | { kind: "file"; file: string } | { kind: "generate"; file: string } | { kind: "missing" } {
  if (config.MASTER_KEYS) return { kind: "env" };
  if (config.MASTER_KEY_FILE) return { kind: "file", file: path.resolve(config.MASTER_KEY_FILE) };
  if (config.databaseKind === "pglite") return { kind: "generate", file: defaultKeyFile(config) };
  return { kind: "missing" };
}

export async function loadKeyRing(config: Config): Promise<KeyRing> {
  const src = keySource(config);
  switch (src.kind) {
    case "env":
      return ringFrom(parseKeyList(config.MASTER_KEYS!, "MASTER_KEYS"), { kind: "env" });
    case "file":
      return ringFrom(await readKeyFile(src.file), { kind: "file", file: src.file });
    case "generate": {
      const exists = await stat(src.file).then(
        () => true,
        () => false,
      );
      if (!exists) {
        const k = generateMasterKey();
        await writeKeyFile(src.file, [k]);
        // Said once, loudly: this file is the only way to read stored secrets and backups.
        log("warn", "generated a master key for the embedded default; keep a copy of the file apart from the backups", {
          file: src.file,
          keyId: k.id,
        });
        return ringFrom(await readKeyFile(src.file), { kind: "generated", file: src.file });
      }
      return ringFrom(await readKeyFile(src.file), { kind: "file", file: src.file });
    }
    case "missing":
      throw new KeyConfigError(
        "No master key is configured. With DATABASE_URL set, set MASTER_KEY_FILE (a file of `<id> <base64 key>` lines, " +
          "mode 0600, the same file on every machine) or MASTER_KEYS=<id>:<base64 key> — e.g. `npm run keys:rotate -- --init <file>` " +
          "creates a key file. Secrets and backups cannot be encrypted or read without it.",
      );
  }
}

const KEY = Symbol.for("sot.keyring");
type Holder = typeof globalThis & { [KEY]?: Promise<KeyRing> };

/** The process's key ring, loaded (or generated, on the embedded default) on first use. */
export function getKeyRing(): Promise<KeyRing> {
  const g = globalThis as Holder;
  if (!g[KEY]) {
    g[KEY] = loadKeyRing(getConfig()).catch((err) => {
      delete g[KEY]; // a fixed configuration is picked up by the next call
      throw err;
    });
  }
  return g[KEY]!;
}

/** Forget the loaded ring (after a rotation, or in tests that change the environment). */
export function resetKeyRing(): void {
  delete (globalThis as Holder)[KEY];
}
