// Envelope encryption: every object gets its own random data key (AES-256-GCM); the data key is
// wrapped (AES-256-GCM) by a master key. An envelope records the master key id, the wrapped data key,
// the nonce and the tag, so a rotation only re-wraps the 32-byte data key — payloads stay untouched.
import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes } from "node:crypto";
import { missingKeyError, type KeyRing, type MasterKey } from "./keys";

const NONCE = 12;
const TAG = 16;

export interface Envelope {
  /** Id of the master key that wraps the data key. */
  keyId: string;
  /** wrapNonce(12) ‖ wrapped data key(32) ‖ wrapTag(16). */
  wrappedKey: Buffer;
  nonce: Buffer;
  tag: Buffer;
  ciphertext: Buffer;
}

/** Decryption failed: altered data, or a master key with the right id but the wrong bytes. */
export class DecryptError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "DecryptError";
  }
}

function wrapAad(keyId: string): Buffer {
  return Buffer.from(`sot-dek-v1|${keyId}`);
}

export function wrapDataKey(master: MasterKey, dataKey: Buffer): Buffer {
  const nonce = randomBytes(NONCE);
  const c = createCipheriv("aes-256-gcm", master.key, nonce);
  c.setAAD(wrapAad(master.id));
  const body = Buffer.concat([c.update(dataKey), c.final()]);
  return Buffer.concat([nonce, body, c.getAuthTag()]);
}

export function unwrapDataKey(ring: KeyRing, keyId: string, wrapped: Buffer, what: string): Buffer {
  const master = ring.byId.get(keyId);
  if (!master) throw missingKeyError(ring, keyId, what);
  if (wrapped.length !== NONCE + 32 + TAG) throw new DecryptError(`${what}: its wrapped data key is malformed`);
  try {
    const d = createDecipheriv("aes-256-gcm", master.key, wrapped.subarray(0, NONCE));
    d.setAAD(wrapAad(keyId));
    d.setAuthTag(wrapped.subarray(NONCE + 32));
    return Buffer.concat([d.update(wrapped.subarray(NONCE, NONCE + 32)), d.final()]);
  } catch {
    throw new DecryptError(
      `${what}: its data key cannot be unwrapped with master key "${keyId}" — the configured key with that id is not the one it was written with`,
    );
  }
}

/** Encrypts with a fresh data key under the ring's current master key. `aad` binds context (e.g. an object's address). */
export function seal(ring: KeyRing, plaintext: Buffer, aad: Buffer): Envelope {
  const dataKey = randomBytes(32);
  const nonce = randomBytes(NONCE);
  const c = createCipheriv("aes-256-gcm", dataKey, nonce);
  c.setAAD(aad);
  const ciphertext = Buffer.concat([c.update(plaintext), c.final()]);
  const env = { keyId: ring.current.id, wrappedKey: wrapDataKey(ring.current, dataKey), nonce, tag: c.getAuthTag(), ciphertext };
  dataKey.fill(0);
  return env;
}

export function open(ring: KeyRing, env: Envelope, aad: Buffer, what: string): Buffer {
  const dataKey = unwrapDataKey(ring, env.keyId, env.wrappedKey, what);
  try {
    const d = createDecipheriv("aes-256-gcm", dataKey, env.nonce);
    d.setAAD(aad);
    d.setAuthTag(env.tag);
    return Buffer.concat([d.update(env.ciphertext), d.final()]);
  } catch {
    throw new DecryptError(`${what} failed its integrity check (GCM tag mismatch): it was altered or is not what it claims to be`);
  } finally {
    dataKey.fill(0);
  }
}

/** The same payload, its data key re-wrapped under the ring's current master key (no payload re-encryption). */
export function rewrap(ring: KeyRing, env: Envelope, what: string): Envelope {
  if (env.keyId === ring.current.id) return env;
  const dataKey = unwrapDataKey(ring, env.keyId, env.wrappedKey, what);
  const wrappedKey = wrapDataKey(ring.current, dataKey);
  dataKey.fill(0);
  return { ...env, keyId: ring.current.id, wrappedKey };
}

/** A purpose-specific key derived from a master key (e.g. for signing manifests). */
export function deriveKey(master: MasterKey, purpose: string): Buffer {
  return Buffer.from(hkdfSync("sha256", master.key, Buffer.from("sot-hkdf-salt-v1"), Buffer.from(purpose), 32));
}

export function hmac(key: Buffer, data: Buffer | string): Buffer {
  return createHmac("sha256", key).update(data).digest();
}
