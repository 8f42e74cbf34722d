// Passwords are hashed with argon2id (OWASP's first choice); @node-rs/argon2 ships prebuilt N-API binaries.
// Every hash and verification is counted (sot_password_hash_operations_total): argon2 is the costliest
// thing an anonymous caller can make the server do, so the count shows who is making it work.
import { hash, verify } from "@node-rs/argon2";
import { observePasswordHashing } from "../metrics";

const ARGON2ID = 2; // Algorithm.Argon2id (const enum, not importable under isolatedModules)
export const ARGON2_OPTIONS = { algorithm: ARGON2ID, memoryCost: 19456, timeCost: 2, parallelism: 1 } as const;
export const MIN_PASSWORD_LENGTH = 10;

/**
 * A hash of a random password nobody knows, with the same parameters as real ones: sign-in verifies
 * against it when the e-mail is unknown or has no password, so every attempt costs one verification
 * and the time taken does not tell which accounts exist.
 */
export const DUMMY_PASSWORD_HASH = "$argon2id$v=19$m=19456,t=2,p=1$vuWLq4Ol553uGtKX2PsIaQ$P+zHL4VACwJu3wPeCC0PTCsSWUzDH8yq5ej+WWrfrR0";

export function hashPassword(password: string): Promise<string> {
  const hashing = hash(password, ARGON2_OPTIONS);
  observePasswordHashing("hash");
  return hashing;
}

/** Always runs one argon2 verification: against `hashed`, or against the dummy hash when there is none. */
export async function verifyPassword(hashed: string | null | undefined, password: string): Promise<boolean> {
  try {
    const verification = verify(hashed || DUMMY_PASSWORD_HASH, password);
    observePasswordHashing("verify");
    return (await verification) && !!hashed;
  } catch {
    return false;
  }
}
