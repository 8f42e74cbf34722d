// Secrets at rest (Notion tokens, S3 keys, notification targets' credentials) through KES: each value is
// sealed with its own data key of KES key `secrets`, and the encryption context names the row it is
// stored in ({table, row, field}), so a ciphertext copied into another row — or another field — does
// not decrypt. The process needs no master key: KES generates and unwraps the data keys, checks the
// caller on every call and audits it.
//
// Stored form: `sot:v2:kes:v1:secrets:<version>:<wrapped data key>~<sealed payload>`.
//
// Values written before KES (`sot:v1:…`: a data key wrapped by a master key, the same associated data
// for every row) still read: KES re-seals one into the new form for its row (the plaintext never leaves
// KES), and `upgradeLegacySecrets` rewrites every stored one that way — at start-up in the background,
// or with `npm run secrets:upgrade`. A legacy value is bound to the row it is found in when converted.
import type { Db } from "../db/client";
import { AppError, isAppError } from "../errors";
import { getKes, type KesClient } from "../kes/client";
import type { EncryptionContext } from "../kes/crypto";
import { log } from "../log";
import * as q from "./queries";

export const SECRETS_KES_KEY = "secrets";
const PREFIX = "sot:v2:";
const LEGACY_PREFIX = "sot:v1:";

/** Where a secret is stored: its encryption context. */
export interface SecretRef {
  table: "sources" | "notification_targets";
  /** The row's id. */
  row: string;
  /** The column. */
  field: string;
}

export const sourceSecretRef = (sourceId: string): SecretRef => ({ table: "sources", row: sourceId, field: "secret_ciphertext" });
export const notificationSecretRef = (targetId: string): SecretRef => ({ table: "notification_targets", row: targetId, field: "secret" });

const contextOf = (ref: SecretRef): EncryptionContext => ({ table: ref.table, row: ref.row, field: ref.field });
const describe = (ref: SecretRef) => `The secret stored in ${ref.table} row ${ref.row} (${ref.field})`;

/** The stored value does not belong to the row it was read from (copied from another row), or was altered. */
export class SecretMismatchError extends AppError {
  constructor(ref: SecretRef) {
    super(
      422,
      "secret_mismatch",
      `${describe(ref)} does not decrypt for this row: it was copied from another row or altered. Enter the secret again.`,
      { table: ref.table, row: ref.row, field: ref.field },
    );
  }
}

export function isEncryptedSecret(value: string): boolean {
  return value.startsWith(PREFIX) || value.startsWith(LEGACY_PREFIX);
}

/** Runs `fn`; when KES does not know key `secrets` yet, creates it (as the calling service) and runs it again. */
async function withSecretsKey<T>(kes: KesClient, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (!isAppError(err) || err.status !== 404) throw err;
  }
  try {
    await kes.createKey(SECRETS_KES_KEY);
  } catch (err) {
    if (!isAppError(err) || err.status !== 409) throw err; // another process made it meanwhile
  }
  return fn();
}

/** Seals a secret for storage in `ref`. KES down: a 503 before anything is written. */
export async function encryptSecret(plain: string, ref: SecretRef, kes?: KesClient): Promise<string> {
  const k = kes ?? (await getKes());
  const blob = await withSecretsKey(k, () => k.encrypt(Buffer.from(plain, "utf8"), { keyId: SECRETS_KES_KEY, context: contextOf(ref) }));
  return `${PREFIX}${blob}`;
}

/**
 * Opens what `encryptSecret` stored in `ref` (or a legacy value, re-sealed by KES on the way). Errors
 * never carry the secret: SecretMismatchError (422) for a value from another row, KES's own for a
 * shredded key (410) or KES down (503).
 */
export async function decryptSecret(stored: string, ref: SecretRef, kes?: KesClient): Promise<string> {
  const k = kes ?? (await getKes());
  let blob: string;
  if (stored.startsWith(PREFIX)) blob = stored.slice(PREFIX.length);
  else if (stored.startsWith(LEGACY_PREFIX)) blob = (await withSecretsKey(k, () => k.resealLegacySecret(stored, SECRETS_KES_KEY, contextOf(ref)))).blob;
  else throw new AppError(422, "secret_mismatch", `${describe(ref)} is not an encrypted secret (expected sot:v2:…); it may be truncated.`);
  try {
    const plain = await k.decrypt(blob, { context: contextOf(ref) });
    try {
      return plain.toString("utf8");
    } finally {
      plain.fill(0);
    }
  } catch (err) {
    if (isAppError(err) && err.status === 422) throw new SecretMismatchError(ref);
    throw err;
  }
}

/** A legacy value converted for `ref` by KES (the plaintext stays in KES); other values unchanged. */
export async function upgradeSecret(stored: string, ref: SecretRef, kes?: KesClient): Promise<string> {
  if (!stored.startsWith(LEGACY_PREFIX)) return stored;
  const k = kes ?? (await getKes());
  const { blob } = await withSecretsKey(k, () => k.resealLegacySecret(stored, SECRETS_KES_KEY, contextOf(ref)));
  return `${PREFIX}${blob}`;
}

export interface UpgradeResult {
  /** Values rewritten in the new form. */
  converted: number;
  /** Values changed by someone else meanwhile (left as they are now). */
  skipped: number;
  fields: Array<{ table: string; field: string; converted: number }>;
}

const FIELDS = [
  { table: "sources" as const, field: "secret_ciphertext", list: q.legacySourceSecrets, replace: q.replaceSourceSecret },
  { table: "notification_targets" as const, field: "secret", list: q.legacyNotificationSecrets, replace: q.replaceNotificationSecret },
];

/**
 * Rewrites every stored legacy secret in the new form, bound to its row. Each row is one conditional
 * UPDATE (only if it still holds what was read): stopping half-way — KES down — leaves every row
 * either converted or as it was, both readable; running it again (or twice at once) finishes the job.
 */
export async function upgradeLegacySecrets(db: Pick<Db, "sql">, kes?: KesClient): Promise<UpgradeResult> {
  const k = kes ?? (await getKes());
  const out: UpgradeResult = { converted: 0, skipped: 0, fields: [] };
  for (const f of FIELDS) {
    let n = 0;
    for (const { row, value } of await f.list(db.sql)) {
      const next = await upgradeSecret(value, { table: f.table, row, field: f.field }, k);
      if (await f.replace(db.sql, row, value, next)) n++;
      else out.skipped++;
    }
    if (n) out.fields.push({ table: f.table, field: f.field, converted: n });
    out.converted += n;
  }
  return out;
}

/** Start-up: converts legacy secrets in the background when there are any; a failure is logged, and reads keep working meanwhile. */
export async function upgradeLegacySecretsAtStart(db: Pick<Db, "sql">): Promise<void> {
  if ((await q.countLegacySecrets(db.sql)) === 0) return;
  try {
    const r = await upgradeLegacySecrets(db);
    log("info", "legacy secrets converted to KES", { converted: r.converted, skipped: r.skipped });
  } catch (err) {
    log("warn", "legacy secrets were not all converted to KES; they still read, and the next start (or npm run secrets:upgrade) finishes", {
      error: (err as Error).message,
    });
  }
}
