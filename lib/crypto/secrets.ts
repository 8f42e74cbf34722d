// The legacy form of secrets at rest, from before KES (lib/secrets stores them through KES now):
// envelope-encrypted strings `sot:v1:<keyId>:<wrappedKey>:<nonce>:<ciphertext>:<tag>` (base64url parts),
// the data key wrapped directly by a master key and the same associated data for every row. Only KES
// (which holds the master keys) still opens them, to re-seal them into the new form
// (lib/kes/legacy.ts); `npm run keys:rotate` re-wraps any left under a new master key.
import { DecryptError, open, rewrap, seal, type Envelope } from "./envelope";
import type { KeyRing } from "./keys";

const PREFIX = "sot:v1:";
const AAD = Buffer.from("sot-secret-v1");

export function isEncryptedSecret(value: string): boolean {
  return value.startsWith(PREFIX);
}

export function formatSecret(env: Envelope): string {
  const b = (x: Buffer) => x.toString("base64url");
  return `${PREFIX}${env.keyId}:${b(env.wrappedKey)}:${b(env.nonce)}:${b(env.ciphertext)}:${b(env.tag)}`;
}

export function parseSecret(value: string): Envelope {
  const parts = isEncryptedSecret(value) ? value.slice(PREFIX.length).split(":") : [];
  if (parts.length !== 5) {
    throw new DecryptError("The stored value is not an encrypted secret (expected sot:v1:<keyId>:…); it may be truncated.");
  }
  const [keyId, wrappedKey, nonce, ciphertext, tag] = parts;
  const d = (x: string) => Buffer.from(x, "base64url");
  return { keyId, wrappedKey: d(wrappedKey), nonce: d(nonce), ciphertext: d(ciphertext), tag: d(tag) };
}

export function encryptSecretWith(ring: KeyRing, plain: string): string {
  return formatSecret(seal(ring, Buffer.from(plain, "utf8"), AAD));
}

export function decryptSecretWith(ring: KeyRing, ciphertext: string): string {
  return open(ring, parseSecret(ciphertext), AAD, "The stored secret").toString("utf8");
}

/** The same secret with its data key re-wrapped under the current master key (payload untouched). */
export function rewrapSecretWith(ring: KeyRing, ciphertext: string): string {
  const env = parseSecret(ciphertext);
  return env.keyId === ring.current.id ? ciphertext : formatSecret(rewrap(ring, env, "The stored secret"));
}
