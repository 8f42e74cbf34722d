// On-target formats: content-addressed encrypted objects and encrypted + signed snapshot manifests.
//
// Object `objects/<h[0..2]>/<h>`. Format 2 (now written): h = HMAC-SHA256 of the plaintext under the
// naming key (a data key from KES), the plaintext being a segment of many rows as JSON lines — the same
// content is the same object and is not uploaded again, yet someone holding the bucket can neither
// confirm a guessed row nor tell which rows changed. Format 1 (still read): h = SHA-256 of one row's
// (or one owning entity's rows') JSON array.
//   "SOTO1" ‖ u16 header length ‖ header JSON {keyId, wrappedKey, nonce, tag, z} ‖ ciphertext
// The GCM AAD is the address, so an object copied under another name fails authentication. The
// payload is deflated before encryption (z: "deflate-raw").
//
// Manifest `snapshots/<snapshotId>.json`: JSON with the snapshot id and time in clear (for retention
// without keys), the deflated manifest body encrypted as an envelope, and an HMAC-SHA256 signature
// (key derived from the master key) over every other field.
import { createHash, createHmac } from "node:crypto";
import { promisify } from "node:util";
import { deflateRaw, deflateRawSync, inflateRaw, inflateRawSync } from "node:zlib";
import { deriveKey, hmac, open, seal, type Envelope } from "../crypto/envelope";
import { missingKeyError, UnknownKeyError, type KeyRing } from "../crypto/keys";

const OBJECT_MAGIC = Buffer.from("SOTO1");
export const MANIFEST_FORMAT_V1 = "sot-snapshot-manifest/1";
export const MANIFEST_FORMAT = "sot-snapshot-manifest/2";
const MANIFEST_FORMATS = new Set([MANIFEST_FORMAT_V1, MANIFEST_FORMAT]);
const deflateAsync = promisify(deflateRaw);
const inflateAsync = promisify(inflateRaw);

/** Something in the backup target is missing, altered, truncated or unreadable; the message names it. */
export class BackupIntegrityError extends Error {
  constructor(
    message: string,
    readonly key?: string,
  ) {
    super(message);
    this.name = "BackupIntegrityError";
  }
}

export function sha256Hex(data: Buffer | string): string {
  return createHash("sha256").update(data).digest("hex");
}

/** A format-2 object's name: HMAC-SHA256 of its plaintext under the naming key. */
export function objectName(namingKey: Buffer, plaintext: Buffer): string {
  return createHmac("sha256", namingKey).update(plaintext).digest("hex");
}

export function objectKey(hash: string): string {
  return `objects/${hash.slice(0, 2)}/${hash}`;
}

export function manifestKey(snapshotId: string): string {
  return `snapshots/${snapshotId}.json`;
}

export function encodeObject(ring: KeyRing, hash: string, plaintext: Buffer): Buffer {
  const env = seal(ring, deflateRawSync(plaintext, { level: 1 }), Buffer.from(hash));
  return packObject(env);
}

/** Like encodeObject, compressing on libuv's thread pool so reading the next rows goes on meanwhile. */
export async function encodeObjectAsync(ring: KeyRing, hash: string, plaintext: Buffer): Promise<Buffer> {
  return packObject(seal(ring, await deflateAsync(plaintext, { level: 1 }), Buffer.from(hash)));
}

function packObject(env: Envelope): Buffer {
  const header = Buffer.from(
    JSON.stringify({
      keyId: env.keyId,
      wrappedKey: env.wrappedKey.toString("base64"),
      nonce: env.nonce.toString("base64"),
      tag: env.tag.toString("base64"),
      z: "deflate-raw",
    }),
  );
  const len = Buffer.alloc(2);
  len.writeUInt16BE(header.length);
  return Buffer.concat([OBJECT_MAGIC, len, header, env.ciphertext]);
}

export function readObjectEnvelope(key: string, body: Buffer): Envelope {
  const bad = (why: string) => new BackupIntegrityError(`Object ${key} is corrupt: ${why}.`, key);
  if (body.length < 7 || !body.subarray(0, 5).equals(OBJECT_MAGIC)) throw bad("it does not start with an object header (truncated or not a backup object)");
  const len = body.readUInt16BE(5);
  if (body.length < 7 + len) throw bad("its header is truncated");
  let h: { keyId?: unknown; wrappedKey?: unknown; nonce?: unknown; tag?: unknown };
  try {
    h = JSON.parse(body.subarray(7, 7 + len).toString("utf8"));
  } catch {
    throw bad("its header is not valid JSON");
  }
  if (typeof h.keyId !== "string" || typeof h.wrappedKey !== "string" || typeof h.nonce !== "string" || typeof h.tag !== "string") {
    throw bad("its header lacks key id, wrapped key, nonce or tag");
  }
  return {
    keyId: h.keyId,
    wrappedKey: Buffer.from(h.wrappedKey, "base64"),
    nonce: Buffer.from(h.nonce, "base64"),
    tag: Buffer.from(h.tag, "base64"),
    ciphertext: body.subarray(7 + len),
  };
}

/**
 * Decrypts an object and checks it is the content its address names: HMAC under `namingKey` (format 2),
 * else SHA-256 (format 1). Inflating runs on the thread pool.
 */
export async function decodeObject(ring: KeyRing, hash: string, body: Buffer, what: string, namingKey?: Buffer): Promise<Buffer> {
  const key = objectKey(hash);
  const env = readObjectEnvelope(key, body);
  let plain: Buffer;
  try {
    plain = await inflateAsync(open(ring, env, Buffer.from(hash), `Object ${key} (${what})`));
  } catch (err) {
    if (err instanceof UnknownKeyError) throw new BackupIntegrityError(err.message, key);
    throw new BackupIntegrityError((err as Error).message.startsWith("Object") ? (err as Error).message : `Object ${key} (${what}) cannot be read: ${(err as Error).message}`, key);
  }
  if ((namingKey ? objectName(namingKey, plain) : sha256Hex(plain)) !== hash) {
    throw new BackupIntegrityError(`Object ${key} (${what}) decrypted, but its content does not match its ${namingKey ? "keyed" : "SHA-256"} address.`, key);
  }
  return plain;
}

/** The object with its data key re-wrapped under the current master key; the ciphertext bytes are kept as they are. */
export function rewrapObject(ring: KeyRing, key: string, body: Buffer, rewrap: (env: Envelope) => Envelope): Buffer | null {
  const env = readObjectEnvelope(key, body);
  // Sealed by a KES data key (lib/backup/payload-keys.ts): no master key wraps it, KES rotates it.
  if (env.keyId === ring.current.id || env.keyId.startsWith("kes-")) return null;
  return packObject(rewrap(env));
}

// ───────────── manifests ─────────────

export interface ManifestColumn {
  name: string;
  type: string;
  /** pgvector columns are stored as base64 float32 (vector_send) rather than text. */
  vector?: boolean;
}

/** [object name (hex), stored size in bytes, index into Manifest.keyIds, rows (or keys) in it]. */
export type ObjectEntry = [string, number, number, number];

export interface ManifestTable {
  name: string;
  columns: ManifestColumn[];
  /** Format 1: the table's rows. Format 2: the rows this snapshot's layer stores for it. */
  rows: number;
  /** Format 1: one object per row (or owning entity). Format 2: segments of rows as JSON lines. */
  objects: ObjectEntry[];
  /** Format 2: the primary key (what change tracking logs and skip sets match on). */
  primaryKey?: string[];
  /** Format 2: true = this layer holds the whole table; false = only rows of `changedKeys`, over the parent's. */
  full?: boolean;
  /** Format 2, incremental: segments of JSON primary keys whose rows this layer replaces (deleted ones included). */
  changedKeys?: ObjectEntry[];
  /** Format 2: the oid of the table's tracking trigger when this snapshot was read (null: not tracked yet). */
  trackedBy?: number | null;
}

export interface Manifest {
  format: typeof MANIFEST_FORMAT | typeof MANIFEST_FORMAT_V1;
  snapshotId: string;
  createdAt: string;
  /** Migration names applied to the database that was backed up (the schema level to restore into). */
  migrations: string[];
  keyIds: string[];
  /** Tables in dependency order (parents first). */
  tables: ManifestTable[];
  sequences: Array<{ name: string; lastValue: string; isCalled: boolean }>;
  /** Format 1: rows, objects and bytes of the snapshot. Format 2: of this layer. */
  totals: { rows: number; objects: number; bytes: number };
  /**
   * Format 2: the naming key (base64) objects are addressed with — kept inside the encrypted manifest so a
   * restore needs only the master keys, not KES (whose keys live in the very database being restored) —
   * and its KES-wrapped form.
   */
  naming?: { key: string; wrapped: string };
  /** Format 2: the snapshot this one's layer applies over (null: a full snapshot). */
  parent?: string | null;
  /** Format 2: the change log's id and this snapshot's transaction snapshot, for the next incremental. */
  tracking?: { id: string; snapshot: string } | null;
}

/** Every object a manifest references (rows and changed-key segments). */
export function manifestObjects(m: Manifest): ObjectEntry[] {
  return m.tables.flatMap((t) => [...t.objects, ...(t.changedKeys ?? [])]);
}

interface ManifestFile {
  format: string;
  snapshotId: string;
  createdAt: string;
  keyId: string;
  wrappedKey: string;
  nonce: string;
  tag: string;
  ciphertext: string;
  signature: string;
}

function signedBytes(f: Omit<ManifestFile, "signature">): string {
  return [f.format, f.snapshotId, f.createdAt, f.keyId, f.wrappedKey, f.nonce, f.tag, sha256Hex(f.ciphertext)].join("\n");
}

function manifestAad(format: string, snapshotId: string, createdAt: string): Buffer {
  return Buffer.from(`${format}|${snapshotId}|${createdAt}`);
}

export function encodeManifest(ring: KeyRing, m: Manifest): Buffer {
  const env = seal(ring, deflateRawSync(Buffer.from(JSON.stringify(m))), manifestAad(m.format, m.snapshotId, m.createdAt));
  const unsigned = {
    format: m.format,
    snapshotId: m.snapshotId,
    createdAt: m.createdAt,
    keyId: env.keyId,
    wrappedKey: env.wrappedKey.toString("base64"),
    nonce: env.nonce.toString("base64"),
    tag: env.tag.toString("base64"),
    ciphertext: env.ciphertext.toString("base64"),
  };
  const signature = hmac(deriveKey(ring.current, "manifest-signature"), signedBytes(unsigned)).toString("base64");
  return Buffer.from(JSON.stringify({ ...unsigned, signature }, null, 1));
}

function parseManifestFile(key: string, body: Buffer): ManifestFile {
  let f: Partial<ManifestFile>;
  try {
    f = JSON.parse(body.toString("utf8"));
  } catch {
    throw new BackupIntegrityError(`Manifest ${key} is truncated or is not a manifest (${body.length} bytes of invalid JSON).`, key);
  }
  for (const field of ["format", "snapshotId", "createdAt", "keyId", "wrappedKey", "nonce", "tag", "ciphertext", "signature"] as const) {
    if (typeof f[field] !== "string") throw new BackupIntegrityError(`Manifest ${key} is incomplete: field "${field}" is missing.`, key);
  }
  if (!MANIFEST_FORMATS.has(f.format!)) throw new BackupIntegrityError(`Manifest ${key} has unknown format ${f.format}.`, key);
  return f as ManifestFile;
}

export function decodeManifest(ring: KeyRing, key: string, body: Buffer): Manifest {
  const f = parseManifestFile(key, body);
  const master = ring.byId.get(f.keyId);
  if (!master) throw new BackupIntegrityError(missingKeyError(ring, f.keyId, `Manifest ${key}`).message, key);
  const { signature, ...unsigned } = f;
  const expected = hmac(deriveKey(master, "manifest-signature"), signedBytes(unsigned));
  const given = Buffer.from(signature, "base64");
  if (given.length !== expected.length || !expected.equals(given)) {
    throw new BackupIntegrityError(
      `Manifest ${key} has an invalid signature: it was altered, or master key "${f.keyId}" is not the key it was signed with.`,
      key,
    );
  }
  let m: Manifest;
  try {
    const env = {
      keyId: f.keyId,
      wrappedKey: Buffer.from(f.wrappedKey, "base64"),
      nonce: Buffer.from(f.nonce, "base64"),
      tag: Buffer.from(f.tag, "base64"),
      ciphertext: Buffer.from(f.ciphertext, "base64"),
    };
    m = JSON.parse(inflateRawSync(open(ring, env, manifestAad(f.format, f.snapshotId, f.createdAt), `Manifest ${key}`)).toString("utf8"));
  } catch (err) {
    throw new BackupIntegrityError(`Manifest ${key} cannot be decrypted: ${(err as Error).message}`, key);
  }
  if (m.snapshotId !== f.snapshotId) throw new BackupIntegrityError(`Manifest ${key} belongs to snapshot ${m.snapshotId}.`, key);
  if (m.format !== f.format) throw new BackupIntegrityError(`Manifest ${key} says format ${m.format} inside and ${f.format} outside.`, key);
  return m;
}

