// On-target formats: content-addressed encrypted objects and encrypted + signed snapshot manifests.
//
// Object `objects/<h[0..2]>/<h>` where h = SHA-256 of the plaintext row (so an unchanged row is the
// same object and is not uploaded again):
//   "SOTO1" ‖ u16 header length ‖ header JSON {keyId, wrappedKey, nonce, tag, z} ‖ ciphertext
// The GCM AAD is the address, so an object copied under another name fails authentication. The
// payload is deflated before encryption (z: "deflate-raw").
//
// Manifest `snapshots/<snapshotId>.json`: JSON with the snapshot id and time in clear (for retention
// without keys), the deflated manifest body encrypted as an envelope, and an HMAC-SHA256 signature
// (key derived from the master key) over every other field.
import { createHash } from "node:crypto";
import { deflateRawSync, inflateRawSync } from "node:zlib";
import { deriveKey, hmac, open, seal, type Envelope } from "../crypto/envelope";
import { UnknownKeyError, type KeyRing } from "../crypto/keys";

const OBJECT_MAGIC = Buffer.from("SOTO1");
export const MANIFEST_FORMAT = "sot-snapshot-manifest/1";

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

/** Decrypts an object and checks it is the content its address names. */
export function decodeObject(ring: KeyRing, hash: string, body: Buffer, what: string): Buffer {
  const key = objectKey(hash);
  const env = readObjectEnvelope(key, body);
  let plain: Buffer;
  try {
    plain = inflateRawSync(open(ring, env, Buffer.from(hash), `Object ${key} (${what})`));
  } catch (err) {
    if (err instanceof UnknownKeyError) throw new BackupIntegrityError(err.message, key);
    throw new BackupIntegrityError((err as Error).message.startsWith("Object") ? (err as Error).message : `Object ${key} (${what}) cannot be read: ${(err as Error).message}`, key);
  }
  if (sha256Hex(plain) !== hash) {
    throw new BackupIntegrityError(`Object ${key} (${what}) decrypted, but its content does not match its SHA-256 address.`, key);
  }
  return plain;
}

/** The object with its data key re-wrapped under the current master key; the ciphertext bytes are kept as they are. */
export function rewrapObject(ring: KeyRing, key: string, body: Buffer, rewrap: (env: Envelope) => Envelope): Buffer | null {
  const env = readObjectEnvelope(key, body);
  if (env.keyId === ring.current.id) return null;
  return packObject(rewrap(env));
}

// ───────────── manifests ─────────────

export interface ManifestColumn {
  name: string;
  type: string;
  /** pgvector columns are stored as base64 float32 (vector_send) rather than text. */
  vector?: boolean;
}

export interface ManifestTable {
  name: string;
  columns: ManifestColumn[];
  rows: number;
  /** [sha256 hex, stored size in bytes, index into Manifest.keyIds, rows in it] per object, in key order. */
  objects: Array<[string, number, number, number]>;
}

export interface Manifest {
  format: typeof MANIFEST_FORMAT;
  snapshotId: string;
  createdAt: string;
  /** Migration names applied to the database that was backed up (the schema level to restore into). */
  migrations: string[];
  keyIds: string[];
  /** Tables in dependency order (parents first). */
  tables: ManifestTable[];
  sequences: Array<{ name: string; lastValue: string; isCalled: boolean }>;
  totals: { rows: number; objects: number; bytes: number };
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

function manifestAad(snapshotId: string, createdAt: string): Buffer {
  return Buffer.from(`${MANIFEST_FORMAT}|${snapshotId}|${createdAt}`);
}

export function encodeManifest(ring: KeyRing, m: Manifest): Buffer {
  const env = seal(ring, deflateRawSync(Buffer.from(JSON.stringify(m))), manifestAad(m.snapshotId, m.createdAt));
  const unsigned = {
    format: MANIFEST_FORMAT,
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
  if (f.format !== MANIFEST_FORMAT) throw new BackupIntegrityError(`Manifest ${key} has unknown format ${f.format}.`, key);
  return f as ManifestFile;
}

export function decodeManifest(ring: KeyRing, key: string, body: Buffer): Manifest {
  const f = parseManifestFile(key, body);
  const master = ring.byId.get(f.keyId);
  if (!master) throw new BackupIntegrityError(new UnknownKeyError(f.keyId, `Manifest ${key}`).message, key);
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
    m = JSON.parse(inflateRawSync(open(ring, env, manifestAad(f.snapshotId, f.createdAt), `Manifest ${key}`)).toString("utf8"));
  } catch (err) {
    throw new BackupIntegrityError(`Manifest ${key} cannot be decrypted: ${(err as Error).message}`, key);
  }
  if (m.snapshotId !== f.snapshotId) throw new BackupIntegrityError(`Manifest ${key} belongs to snapshot ${m.snapshotId}.`, key);
  return m;
}

