// Every SQL statement of secrets at rest: finding legacy (`sot:v1:`) values and replacing one only if it
// is still what was read, so a secret an admin saves meanwhile is never overwritten by an old one.
import type { SqlRunner } from "../db/sql-runner";

export interface StoredSecret {
  row: string;
  value: string;
}

export function legacySourceSecrets(sql: SqlRunner): Promise<StoredSecret[]> {
  return sql<StoredSecret>`SELECT id::text AS row, secret_ciphertext AS value FROM sources WHERE secret_ciphertext LIKE 'sot:v1:%' ORDER BY id`;
}

export function legacyNotificationSecrets(sql: SqlRunner): Promise<StoredSecret[]> {
  return sql<StoredSecret>`SELECT id::text AS row, secret AS value FROM notification_targets WHERE secret LIKE 'sot:v1:%' ORDER BY id`;
}

export async function replaceSourceSecret(sql: SqlRunner, row: string, from: string, to: string): Promise<boolean> {
  const r = await sql<{ id: string }>`UPDATE sources SET secret_ciphertext = ${to} WHERE id = ${row}::uuid AND secret_ciphertext = ${from} RETURNING id`;
  return r.length === 1;
}

export async function replaceNotificationSecret(sql: SqlRunner, row: string, from: string, to: string): Promise<boolean> {
  const r = await sql<{ id: string }>`UPDATE notification_targets SET secret = ${to} WHERE id = ${row}::uuid AND secret = ${from} RETURNING id`;
  return r.length === 1;
}

/** How many legacy secrets are left (start-up decides from this whether to convert). */
export async function countLegacySecrets(sql: SqlRunner): Promise<number> {
  const [r] = await sql<{ n: number }>`
    SELECT ((SELECT count(*) FROM sources WHERE secret_ciphertext LIKE 'sot:v1:%')
          + (SELECT count(*) FROM notification_targets WHERE secret LIKE 'sot:v1:%'))::int AS n`;
  return r?.n ?? 0;
}
