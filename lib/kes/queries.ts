// Every SQL statement of KES (the data-access rule: raw SQL only here, through db.sql).
import { chainFromJson, tokenChainCtes, type ChainRow } from "../agents/queries";
import type { AuditRow } from "../audit";
import { prepared, sqlFragment, type SqlFragment, type SqlRunner } from "../db/sql-runner";

export interface KeyRow {
  id: string;
  name: string;
  owner: string;
  readers: string[];
  status: "active" | "disabled" | "shredded";
  current_version: number;
  min_decryption_version: number;
  created_at: Date;
  shredded_at: Date | null;
}

/** A key with one of its versions' material and the caller's live grant operations, in one statement. */
export interface KeyForCallRow extends KeyRow {
  version_exists: boolean;
  master_key_id: string | null;
  material: Buffer | Uint8Array | null;
  /** Operations of the caller's grants that are neither revoked nor expired. */
  granted_ops: string[];
  /** When the caller's right to grant ends: the latest expiry of its live grants with "grant"; null = never. */
  grant_until: Date | null;
}

/** The SELECT of keyForCall; `caller` is a parameter, or a column of the statement it is spliced into. */
const keyForCallSelect = (name: string, version: number | null, caller: SqlFragment) => sqlFragment`
    SELECT k.*, (v.key_id IS NOT NULL) AS version_exists, v.master_key_id, v.material,
           COALESCE((SELECT array_agg(DISTINCT op) FROM kes_grants g, unnest(g.operations) op
                      WHERE g.key_id = k.id AND g.grantee = ${caller} AND g.revoked_at IS NULL
                        AND (g.expires_at IS NULL OR g.expires_at > now())), '{}') AS granted_ops,
           (SELECT CASE WHEN bool_or(g.expires_at IS NULL) THEN NULL ELSE max(g.expires_at) END FROM kes_grants g
             WHERE g.key_id = k.id AND g.grantee = ${caller} AND g.revoked_at IS NULL AND 'grant' = ANY(g.operations)
               AND (g.expires_at IS NULL OR g.expires_at > now())) AS grant_until
      FROM kes_keys k
      LEFT JOIN kes_key_versions v ON v.key_id = k.id AND v.version = COALESCE(${version}::int, k.current_version)
     WHERE k.name = ${name}`;

export async function keyForCall(sql: SqlRunner, name: string, version: number | null, caller: string): Promise<KeyForCallRow | null> {
  const rows = await prepared(sql)<KeyForCallRow>`${keyForCallSelect(name, version, sqlFragment`${caller}::text`)}`;
  return rows[0] ?? null;
}

/**
 * An agent's data-key call checked in ONE statement: the token's delegation chain (as the web process
 * reads it, lib/agents/queries.ts) and the call's key with the live grants of the chain's root (the
 * agent whose authority the token carries). No chain: the token is unknown. Read on every call.
 */
export async function agentKeyForCall(
  sql: SqlRunner,
  tokenHash: string,
  maxDepth: number,
  name: string,
  version: number | null,
): Promise<{ chain: ChainRow[]; key: KeyForCallRow | null }> {
  // Prepared (planned once per connection): planning it costs several times what running it does.
  const rows = await prepared(sql)<KeyForCallRow & { chain: Array<Record<string, unknown>> | null; key_found: boolean }>`
    WITH RECURSIVE ${tokenChainCtes(tokenHash, maxDepth)},
    root AS (SELECT 'agent:' || agent_name AS caller FROM links ORDER BY depth DESC LIMIT 1)
    SELECT (SELECT json_agg(l ORDER BY l.depth) FROM links l) AS chain, key.id IS NOT NULL AS key_found, key.*
      FROM root LEFT JOIN LATERAL (${keyForCallSelect(name, version, sqlFragment`root.caller`)}) key ON true`;
  const r = rows[0];
  if (!r) return { chain: [], key: null };
  const { chain, key_found, ...key } = r;
  return { chain: chainFromJson(chain), key: key_found ? key : null };
}

/** Audit rows of several KES calls in one statement (lib/kes/audit-writer.ts commits them as a group). */
export async function insertAuditRows(sql: SqlRunner, rows: AuditRow[]): Promise<void> {
  await prepared(sql)`
    INSERT INTO audit_log (actor_user_id, actor_api_key_id, actor_label, action, target, details, request_id)
    SELECT r."actorUserId", r."actorApiKeyId", r."actorLabel", r.action, r.target, r.details, r."requestId"
      FROM json_to_recordset(${JSON.stringify(rows)}::json)
        AS r("actorUserId" uuid, "actorApiKeyId" uuid, "actorLabel" text, action text, target text, details jsonb, "requestId" text)`;
}

export async function keyByName(sql: SqlRunner, name: string): Promise<KeyRow | null> {
  const rows = await sql<KeyRow>`SELECT * FROM kes_keys WHERE name = ${name}`;
  return rows[0] ?? null;
}

/** Keys the caller owns, reads or holds a live grant on (names starting with `prefix`, when given). */
export async function listKeys(sql: SqlRunner, caller: string, prefix: string | null = null): Promise<Array<KeyRow & { versions: number }>> {
  return sql<KeyRow & { versions: number }>`
    SELECT k.*, (SELECT count(*)::int FROM kes_key_versions v WHERE v.key_id = k.id) AS versions
      FROM kes_keys k
     WHERE (k.owner = ${caller} OR ${caller} = ANY(k.readers)
            OR EXISTS (SELECT 1 FROM kes_grants g WHERE g.key_id = k.id AND g.grantee = ${caller} AND g.revoked_at IS NULL
                                                    AND (g.expires_at IS NULL OR g.expires_at > now())))
       AND (${prefix}::text IS NULL OR starts_with(k.name, ${prefix}::text))
     ORDER BY k.name`;
}

export async function insertKey(
  sql: SqlRunner,
  k: { name: string; owner: string; readers: string[]; masterKeyId: string; material: Buffer },
): Promise<KeyRow | null> {
  return sql.transaction(async (tx) => {
    const rows = await tx<KeyRow>`
      INSERT INTO kes_keys (name, owner, readers) VALUES (${k.name}, ${k.owner}, ${k.readers}::text[])
      ON CONFLICT (name) DO NOTHING RETURNING *`;
    if (!rows[0]) return null;
    await tx`INSERT INTO kes_key_versions (key_id, version, master_key_id, material)
             VALUES (${rows[0].id}::uuid, 1, ${k.masterKeyId}, ${k.material})`;
    return rows[0];
  });
}

/** The next version number (max + 1), under a row lock so two callers never take the same one. */
export async function insertVersion(
  sql: SqlRunner,
  keyId: string,
  wrap: (version: number) => { masterKeyId: string; material: Buffer },
): Promise<number> {
  return sql.transaction(async (tx) => {
    await tx`SELECT id FROM kes_keys WHERE id = ${keyId}::uuid FOR UPDATE`;
    const [{ next }] = await tx<{ next: number }>`
      SELECT COALESCE(max(version), 0)::int + 1 AS next FROM kes_key_versions WHERE key_id = ${keyId}::uuid`;
    const w = wrap(next);
    await tx`INSERT INTO kes_key_versions (key_id, version, master_key_id, material)
             VALUES (${keyId}::uuid, ${next}, ${w.masterKeyId}, ${w.material})`;
    return next;
  });
}

export async function versionNumbers(sql: SqlRunner, keyId: string): Promise<number[]> {
  const rows = await sql<{ version: number }>`SELECT version FROM kes_key_versions WHERE key_id = ${keyId}::uuid ORDER BY version`;
  return rows.map((r) => r.version);
}

export async function setVersions(sql: SqlRunner, keyId: string, v: { current?: number; min?: number }): Promise<void> {
  await sql`UPDATE kes_keys SET current_version = COALESCE(${v.current ?? null}::int, current_version),
                                min_decryption_version = COALESCE(${v.min ?? null}::int, min_decryption_version)
             WHERE id = ${keyId}::uuid`;
}

export async function setStatus(sql: SqlRunner, keyId: string, status: "active" | "disabled"): Promise<void> {
  await sql`UPDATE kes_keys SET status = ${status} WHERE id = ${keyId}::uuid AND status <> 'shredded'`;
}

/** Destroys every version's material (one transaction): nothing wrapped under the key opens again. */
export async function shredKey(sql: SqlRunner, keyId: string): Promise<void> {
  await sql.transaction(async (tx) => {
    await tx`UPDATE kes_key_versions SET material = NULL, master_key_id = NULL WHERE key_id = ${keyId}::uuid`;
    await tx`UPDATE kes_keys SET status = 'shredded', shredded_at = now() WHERE id = ${keyId}::uuid`;
    await tx`UPDATE kes_grants SET revoked_at = now() WHERE key_id = ${keyId}::uuid AND revoked_at IS NULL`;
  });
}

export interface GrantRow {
  id: string;
  key_id: string;
  grantee: string;
  operations: string[];
  expires_at: Date | null;
  created_by: string;
  created_at: Date;
  revoked_at: Date | null;
}

export async function insertGrant(
  sql: SqlRunner,
  g: { keyId: string; grantee: string; operations: string[]; expiresAt: Date | null; createdBy: string },
): Promise<GrantRow> {
  const rows = await sql<GrantRow>`
    INSERT INTO kes_grants (key_id, grantee, operations, expires_at, created_by)
    VALUES (${g.keyId}::uuid, ${g.grantee}, ${g.operations}::text[], ${g.expiresAt}, ${g.createdBy}) RETURNING *`;
  return rows[0]!;
}

/**
 * Revokes every live grant of the grantee on the key; the count. `by` (a granter that is not the owner)
 * revokes only grants it made and grants that carry no "grant" (it cannot unseat another granter).
 */
export async function revokeGrants(sql: SqlRunner, keyId: string, grantee: string, by: string | null = null): Promise<number> {
  const rows = await sql<{ id: string }>`
    UPDATE kes_grants SET revoked_at = now()
     WHERE key_id = ${keyId}::uuid AND grantee = ${grantee} AND revoked_at IS NULL
       AND (${by}::text IS NULL OR created_by = ${by}::text OR NOT ('grant' = ANY(operations))) RETURNING id`;
  return rows.length;
}

export async function listGrants(sql: SqlRunner, keyId: string): Promise<GrantRow[]> {
  return sql<GrantRow>`SELECT * FROM kes_grants WHERE key_id = ${keyId}::uuid ORDER BY created_at, id`;
}

/** Every version of a key with its material as the master key sealed it (for the backup escrow). */
export async function sealedVersions(sql: SqlRunner, keyId: string): Promise<Array<{ version: number; master_key_id: string | null; material: Buffer | Uint8Array | null }>> {
  return sql<{ version: number; master_key_id: string | null; material: Buffer | Uint8Array | null }>`
    SELECT version, master_key_id, material FROM kes_key_versions WHERE key_id = ${keyId}::uuid ORDER BY version`;
}
