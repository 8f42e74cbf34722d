// KES's two layers of AES-256-GCM, each binding what it belongs to as associated data:
// - a key version's material is wrapped by a master key, with the key's name and version as AAD;
// - a data key is wrapped by a version's material, with the key's name, version and the caller's
//   encryption context as AAD: a wrapped data key copied to another row, cubby, key or version fails.
import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import type { MasterKey } from "../crypto/keys";

const NONCE = 12;
const TAG = 16;

export type EncryptionContext = Record<string, string>;

function seal(key: Buffer, plaintext: Buffer, aad: Buffer): Buffer {
  const nonce = randomBytes(NONCE);
  const c = createCipheriv("aes-256-gcm", key, nonce);
  c.setAAD(aad);
  const body = Buffer.concat([c.update(plaintext), c.final()]);
  return Buffer.concat([nonce, body, c.getAuthTag()]);
}

/** The plaintext, or null when the tag does not verify (altered, or another key or AAD). */
function open(key: Buffer, sealed: Buffer, aad: Buffer): Buffer | null {
  if (sealed.length < NONCE + TAG) return null;
  try {
    const d = createDecipheriv("aes-256-gcm", key, sealed.subarray(0, NONCE));
    d.setAAD(aad);
    d.setAuthTag(sealed.subarray(sealed.length - TAG));
    return Buffer.concat([d.update(sealed.subarray(NONCE, sealed.length - TAG)), d.final()]);
  } catch {
    return null;
  }
}

const materialAad = (name: string, version: number) => Buffer.from(`sot-kes-material-v1\n${name}\n${version}`);

/** Sorted keys, so {a,b} and {b,a} are the same context. */
export function canonicalContext(context: EncryptionContext): string {
  return JSON.stringify(Object.keys(context).sort().map((k) => [k, context[k]]));
}

const dataKeyAad = (name: string, version: number, context: EncryptionContext) =>
  Buffer.from(`sot-kes-dek-v1\n${name}\n${version}\n${canonicalContext(context)}`);

export function newMaterial(): Buffer {
  return randomBytes(32);
}

export function wrapMaterial(master: MasterKey, name: string, version: number, material: Buffer): Buffer {
  return seal(master.key, material, materialAad(name, version));
}

export function unwrapMaterial(master: MasterKey, name: string, version: number, wrapped: Buffer): Buffer | null {
  return open(master.key, wrapped, materialAad(name, version));
}

export function wrapDataKey(material: Buffer, name: string, version: number, context: EncryptionContext, dataKey: Buffer): Buffer {
  return seal(material, dataKey, dataKeyAad(name, version, context));
}

export function unwrapDataKey(material: Buffer, name: string, version: number, context: EncryptionContext, wrapped: Buffer): Buffer | null {
  return open(material, wrapped, dataKeyAad(name, version, context));
}

// A wrapped data key travels as text: "kes:v1:<key name>:<version>:<base64url sealed>". The name and
// version are a hint for finding the key; the AAD checks them.
const TOKEN_RE = /^kes:v1:([a-z0-9][a-z0-9._-]{0,99}):([1-9][0-9]{0,8}):([A-Za-z0-9_-]+)$/;

export function formatWrapped(name: string, version: number, sealed: Buffer): string {
  return `kes:v1:${name}:${version}:${sealed.toString("base64url")}`;
}

export function parseWrapped(text: string): { name: string; version: number; sealed: Buffer } | null {
  const m = TOKEN_RE.exec(text);
  if (!m) return null;
  return { name: m[1]!, version: Number(m[2]), sealed: Buffer.from(m[3]!, "base64url") };
}

/**
 * The associated data of a payload sealed with a data key (KesClient.encrypt): the key's name and the
 * encryption context, not the version, so a rewrap of the data key leaves the payload as it is.
 */
export function payloadAad(keyName: string, context: EncryptionContext): Buffer {
  return Buffer.from(`sot-kes-payload-v2\n${keyName}\n${canonicalContext(context)}`);
}

/** Payload encryption with a data key (what clients do with generateDataKey's plaintext). */
export function sealWithDataKey(dataKey: Buffer, plaintext: Buffer, aad: Buffer): Buffer {
  return seal(dataKey, plaintext, aad);
}
export function openWithDataKey(dataKey: Buffer, sealed: Buffer, aad: Buffer): Buffer | null {
  return open(dataKey, sealed, aad);
}
