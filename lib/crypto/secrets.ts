// Secrets at rest in the database (Notion tokens, webhook verification tokens): envelope-encrypted
// strings `sot:v1:<keyId>:<wrappedKey>:<nonce>:<ciphertext>:<tag>` (base64url parts). The key id is in
// clear so `npm run keys:rotate` can find and re-wrap what an old master key protects.
import { DecryptError, open, rewrap, seal, type Envelope } from "./envelope";
import { getKeyRing, type KeyRing } from "./keys";

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

/** Encrypts a secret for storage in the database under the current master key. */
export async function encryptSecret(plain: string): Promise<string> {
  return encryptSecretWith(await getKeyRing(), plain);
}

/**
 * Decrypts what `encryptSecret` returned. Throws UnknownKeyError (key id not configured), DecryptError
 * (altered, truncated or wrong key) or KeyConfigError (no master key configured) — never with the secret
 * or the key in the message.
 */
export async function decryptSecret(ciphertext: string): Promise<string> {
  return decryptSecretWith(await getKeyRing(), ciphertext);
}
