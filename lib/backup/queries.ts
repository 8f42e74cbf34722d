// The `backups` table's SQL: recording a backup, its progress and its outcome.
import type { SqlRunner } from "../db/sql-runner";
import type { BackupView } from "./types";

const ACTIVE_LOCK = 705_000_007;

// Read straight into the view: bigint counters as numbers (float8 is exact far beyond any backup's
// size), times as ISO text in UTC (what Date.toISOString gives).
const iso = (col: string) => `to_char(${col} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;
const COLUMNS = `id::text, trigger, schedule_run_id::text AS "scheduleRunId", status, phase, target, snapshot_id AS "snapshotId",
  rows_total AS "rowsTotal", rows_done AS "rowsDone", objects_total AS "objectsTotal", objects_uploaded AS "objectsUploaded",
  bytes_total::float8 AS "bytesTotal", bytes_uploaded::float8 AS "bytesUploaded", snapshots_deleted AS "snapshotsDeleted",
  objects_swept AS "objectsSwept", error, ${iso("started_at")} AS "startedAt", ${iso("finished_at")} AS "finishedAt",
  ${iso("created_at")} AS "createdAt"`;

export async function selectBackup(sql: SqlRunner, id: string): Promise<BackupView | null> {
  const rows = await sql.query<BackupView>(`SELECT ${COLUMNS} FROM backups WHERE id = $1::uuid`, [id]);
  return rows[0] ?? null;
}

export function selectRecentBackups(sql: SqlRunner, limit: number): Promise<BackupView[]> {
  return sql.query<BackupView>(`SELECT ${COLUMNS} FROM backups ORDER BY created_at DESC LIMIT $1`, [limit]);
}

/**
 * Inserts a queued backup unless one is queued or running; returns that one's id instead. The advisory
 * lock, held until commit, serialises this check across processes.
 */
export function insertBackupUnlessActive(
  sql: SqlRunner,
  input: { trigger: string; scheduleRunId: string | null; target: string },
): Promise<{ created: string } | { active: string }> {
  return sql.transaction(async (tx) => {
    await tx`SELECT 1 AS ok FROM (SELECT pg_advisory_xact_lock(${ACTIVE_LOCK})) l`;
    const [active] = await tx<{ id: string }>`SELECT id::text FROM backups WHERE status IN ('queued', 'running') LIMIT 1`;
    if (active) return { active: active.id };
    const [row] = await tx<{ id: string }>`
      INSERT INTO backups (trigger, schedule_run_id, target) VALUES (${input.trigger}, ${input.scheduleRunId}::uuid, ${input.target}) RETURNING id::text`;
    return { created: row.id };
  });
}

/** Finished backups by outcome: the last one's end and how many ended in the last day (for the metrics). */
export function backupOutcomes(sql: SqlRunner): Promise<Array<{ status: string; last: Date | null; day: string }>> {
  return sql<{ status: string; last: Date | null; day: string }>`
    SELECT status, max(finished_at) AS last, count(*) FILTER (WHERE finished_at > now() - interval '1 day') AS day
    FROM backups WHERE status IN ('succeeded', 'failed') GROUP BY status`;
}

// ───────────── the catalog: what a snapshot holds ─────────────

export const q = (ident: string) => `"${ident.replace(/"/g, '""')}"`;

export interface CatalogRows {
  tables: Array<{ oid: number; name: string }>;
  columns: Array<{ rel: number; name: string; type: string; typname: string; generated: string }>;
  constraints: Array<{ rel: number; contype: string; ref: number | null; cols: string[] }>;
}

/** Tables, columns and keys of the public schema, as the catalog states them. */
export async function catalogRows(s: SqlRunner): Promise<CatalogRows> {
  const tables = await s.query<{ oid: number; name: string }>(
    `SELECT c.oid::int AS oid, c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relispartition ORDER BY c.relname`,
  );
  const columns = await s.query<CatalogRows["columns"][number]>(
    `SELECT a.attrelid::int AS rel, a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type, t.typname AS typname,
            a.attgenerated::text AS generated
     FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
     JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = 'public' AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attrelid, a.attnum`,
  );
  const constraints = await s.query<CatalogRows["constraints"][number]>(
    `SELECT con.conrelid::int AS rel, con.contype::text AS contype, NULLIF(con.confrelid, 0)::int AS ref,
            ARRAY(SELECT a.attname::text FROM unnest(con.conkey) WITH ORDINALITY k(n, i)
                  JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.n ORDER BY k.i) AS cols
     FROM pg_constraint con JOIN pg_namespace n ON n.oid = con.connamespace
     WHERE n.nspname = 'public' AND con.contype IN ('p', 'f')`,
  );
  return { tables, columns, constraints };
}

/** The shape of a table that the row statements below need. */
export interface RowShape {
  name: string;
  columns: Array<{ name: string; typname: string }>;
  primaryKey: string[];
  hasGenerated?: boolean;
}

/** A row as JSON: the plain row when every column is copied as is, else the copied columns only. */
function rowJson(t: RowShape, opts: { vectorsAsBase64?: boolean } = {}): string {
  const vec = opts.vectorsAsBase64 && t.columns.some((c) => c.typname === "vector");
  if (!t.hasGenerated && !vec) return "row_to_json(t)";
  const cols = t.columns
    .map((c) => (vec && c.typname === "vector" ? `encode(vector_send(t.${q(c.name)}), 'base64') AS ${q(c.name)}` : `t.${q(c.name)} AS ${q(c.name)}`))
    .join(", ");
  return `(SELECT row_to_json(r) FROM (SELECT ${cols}) r)`;
}

/** One row as JSON text, vectors as base64 of their binary form, in key order (tests compare databases with it). */
export function rowSelectSql(t: RowShape): string {
  const order = (t.primaryKey.length ? t.primaryKey : t.columns.map((c) => c.name).slice(0, 1)).map((c) => `t.${q(c)}`).join(", ");
  return `SELECT ${rowJson(t, { vectorsAsBase64: true })}::text AS j FROM public.${q(t.name)} t${order ? ` ORDER BY ${order}` : ""}`;
}

/** The row's primary key as a JSON object (what the change-tracking triggers log), or null without a key. */
export function rowKeyExpr(t: Pick<RowShape, "primaryKey">, alias = ""): string | null {
  if (!t.primaryKey.length) return null;
  return `json_build_object(${t.primaryKey.map((k) => `'${k.replace(/'/g, "''")}', ${alias}${q(k)}`).join(", ")})::text`;
}

// ───────────── taking a snapshot ─────────────

/** Fixed output settings inside the snapshot's transaction, so the same row always reads as the same bytes. */
export async function setSnapshotSession(s: SqlRunner): Promise<void> {
  await s.exec(`SET LOCAL TIME ZONE 'UTC'; SET LOCAL extra_float_digits = 1; SET LOCAL DateStyle = 'ISO, YMD';`);
}

/** Migration names applied to the database (its schema level), or [] without the migrations table. */
export async function appliedMigrations(s: SqlRunner): Promise<string[]> {
  const [{ ok }] = await s.query<{ ok: boolean }>(`SELECT to_regclass('public._prisma_migrations') IS NOT NULL AS ok`);
  if (!ok) return [];
  const rows = await s.query<{ name: string }>(
    `SELECT migration_name AS name FROM public._prisma_migrations WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL ORDER BY migration_name`,
  );
  return rows.map((r) => r.name);
}

export async function sequenceStates(s: SqlRunner): Promise<Array<{ name: string; lastValue: string; isCalled: boolean }>> {
  const names = await s.query<{ name: string }>(
    `SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' AND c.relkind = 'S' ORDER BY 1`,
  );
  const out: Array<{ name: string; lastValue: string; isCalled: boolean }> = [];
  for (const { name } of names) {
    const [r] = await s.query<{ last: string; called: boolean }>(`SELECT last_value::text AS last, is_called AS called FROM public.${q(name)}`);
    out.push({ name, lastValue: r.last, isCalled: r.called });
  }
  return out;
}

export async function countRows(s: SqlRunner, table: string): Promise<number> {
  const [c] = await s.query<{ n: string }>(`SELECT count(*)::text AS n FROM public.${q(table)}`);
  return Number(c.n);
}

/**
 * Streams every row of a table as JSON text through a cursor, `batch` rows per round trip, in heap order
 * (no sort: the order only has to be the same for the same table contents, which heap order is).
 */
export async function* streamTableRows(s: SqlRunner, t: RowShape, batch: number): AsyncGenerator<string[]> {
  await s.exec(`DECLARE sot_backup_rows NO SCROLL CURSOR FOR SELECT ${rowJson(t)}::text AS j FROM public.${q(t.name)} t`);
  try {
    for (;;) {
      const rows = await s.query<{ j: string }>(`FETCH ${Math.max(1, Math.floor(batch))} FROM sot_backup_rows`);
      if (rows.length === 0) break;
      yield rows.map((r) => r.j);
    }
  } finally {
    await s.exec("CLOSE sot_backup_rows");
  }
}

/** The current rows of the given keys (JSON objects of the primary key), through the primary key's index. */
export async function rowsByKeys(s: SqlRunner, t: RowShape, keys: string[]): Promise<string[]> {
  if (!keys.length) return [];
  const on = t.primaryKey.map((k) => `t.${q(k)} = k.${q(k)}`).join(" AND ");
  const rows = await s.query<{ j: string }>(
    `SELECT ${rowJson(t)}::text AS j FROM json_populate_recordset(NULL::public.${q(t.name)}, $1::json) k JOIN public.${q(t.name)} t ON ${on}`,
    [`[${keys.join(",")}]`],
  );
  return rows.map((r) => r.j);
}

// ───────────── change tracking ─────────────

export const TRACKING_TRIGGERS = ["sot_backup_ins", "sot_backup_upd", "sot_backup_del", "sot_backup_trunc"] as const;

export interface TrackingState {
  trackingId: string;
  prunedBelow: string | null;
  /** This transaction's snapshot (pg_snapshot text). */
  snapshot: string;
}

/** The change log's identity and this transaction's snapshot; null when the tracking tables are absent (an older schema). */
export async function trackingState(s: SqlRunner): Promise<TrackingState | null> {
  const [{ ok }] = await s.query<{ ok: boolean }>(`SELECT to_regclass('public.backup_tracking') IS NOT NULL AS ok`);
  if (!ok) return null;
  const [r] = await s.query<{ id: string; pruned: string | null; snap: string }>(
    `SELECT tracking_id::text AS id, pruned_below::text AS pruned, pg_current_snapshot()::text AS snap FROM backup_tracking WHERE id = 1`,
  );
  return r ? { trackingId: r.id, prunedBelow: r.pruned, snapshot: r.snap } : null;
}

/** Per table: the oid of its insert tracking trigger and the key expression its triggers were given (all four must exist). */
export async function trackingTriggers(s: SqlRunner): Promise<Map<string, { oid: number; arg: string }>> {
  const rows = await s.query<{ table: string; name: string; oid: number; arg: string }>(
    `SELECT c.relname AS table, t.tgname AS name, t.oid::int AS oid, encode(t.tgargs, 'hex') AS arg
     FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = 'public' AND t.tgname = ANY($1::text[])`,
    [TRACKING_TRIGGERS],
  );
  const byTable = new Map<string, typeof rows>();
  for (const r of rows) byTable.set(r.table, [...(byTable.get(r.table) ?? []), r]);
  const out = new Map<string, { oid: number; arg: string }>();
  for (const [table, ts] of byTable) {
    const ins = ts.find((t) => t.name === "sot_backup_ins");
    // tgargs holds each argument followed by a NUL byte.
    const args = new Set(ts.filter((t) => t.name !== "sot_backup_trunc").map((t) => Buffer.from(t.arg, "hex").toString("utf8").replace(/\0$/, "")));
    if (ins && ts.length === TRACKING_TRIGGERS.length && args.size === 1) out.set(table, { oid: ins.oid, arg: [...args][0] });
  }
  return out;
}

/** (Re)creates a table's four tracking triggers in one statement batch; the caller's transaction commits them. */
export async function installTracking(s: SqlRunner, table: string, keyExpr: string | null): Promise<void> {
  const t = `public.${q(table)}`;
  const arg = `'${(keyExpr ?? "").replace(/'/g, "''")}'`;
  await s.exec(
    TRACKING_TRIGGERS.map((name) => `DROP TRIGGER IF EXISTS ${name} ON ${t};`).join("\n") +
      `
CREATE TRIGGER sot_backup_ins AFTER INSERT ON ${t} REFERENCING NEW TABLE AS sot_backup_new FOR EACH STATEMENT EXECUTE FUNCTION sot_backup_track(${arg});
CREATE TRIGGER sot_backup_upd AFTER UPDATE ON ${t} REFERENCING OLD TABLE AS sot_backup_old NEW TABLE AS sot_backup_new FOR EACH STATEMENT EXECUTE FUNCTION sot_backup_track(${arg});
CREATE TRIGGER sot_backup_del AFTER DELETE ON ${t} REFERENCING OLD TABLE AS sot_backup_old FOR EACH STATEMENT EXECUTE FUNCTION sot_backup_track(${arg});
CREATE TRIGGER sot_backup_trunc AFTER TRUNCATE ON ${t} FOR EACH STATEMENT EXECUTE FUNCTION sot_backup_track('');`,
  );
}

/**
 * Keys of a table's rows written by transactions the parent snapshot did not see (and this transaction
 * does): `whole` when the table was truncated or has no key, so it is copied in full.
 */
export async function changedKeys(s: SqlRunner, table: string, parentSnapshot: string): Promise<{ whole: boolean; keys: string[] }> {
  const rows = await s.query<{ k: string | null }>(
    `SELECT DISTINCT row_key AS k FROM backup_changes
     WHERE table_name = $1 AND xid >= pg_snapshot_xmin($2::pg_snapshot) AND NOT pg_visible_in_snapshot(xid, $2::pg_snapshot)`,
    [table, parentSnapshot],
  );
  return { whole: rows.some((r) => r.k === null), keys: rows.filter((r) => r.k !== null).map((r) => r.k!) };
}

/**
 * Forgets log entries every transaction of `snapshot` saw (older than its xmin): a snapshot at least that
 * new is now stored, and the next incremental builds on it. Records the bound, so a parent older than it
 * is never built upon.
 */
export async function pruneChanges(s: SqlRunner, trackingId: string, snapshot: string): Promise<void> {
  await s.transaction(async (tx) => {
    await tx.query(`DELETE FROM backup_changes WHERE xid < pg_snapshot_xmin($1::pg_snapshot)`, [snapshot]);
    await tx.query(
      `UPDATE backup_tracking SET pruned_below = greatest(pruned_below, pg_snapshot_xmin($1::pg_snapshot)) WHERE id = 1 AND tracking_id = $2::uuid`,
      [snapshot, trackingId],
    );
  });
}

/** Whether the log is complete since `parentSnapshot`: nothing it did not see has been pruned. */
export async function logCoversSince(s: SqlRunner, parentSnapshot: string): Promise<boolean> {
  // The second condition catches a log from another server (a copied database keeps the tracking id,
  // but its transaction ids start over): the parent cannot be newer than this transaction.
  const [r] = await s.query<{ ok: boolean }>(
    `SELECT (pruned_below IS NULL OR pruned_below <= pg_snapshot_xmin($1::pg_snapshot))
            AND pg_snapshot_xmax($1::pg_snapshot) <= pg_snapshot_xmax(pg_current_snapshot()) AS ok
     FROM backup_tracking WHERE id = 1`,
    [parentSnapshot],
  );
  return r?.ok === true;
}

// ───────────── restoring ─────────────

export async function publicTables(s: SqlRunner): Promise<string[]> {
  const rows = await s.query<{ name: string }>(
    `SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') ORDER BY 1`,
  );
  return rows.map((r) => r.name);
}

export async function tableHasRows(s: SqlRunner, table: string): Promise<boolean> {
  const [r] = await s.query<{ any: boolean }>(`SELECT EXISTS (SELECT 1 FROM public.${q(table)}) AS any`);
  return r.any;
}

/** A clean public schema, and the restore's session settings. */
export async function resetPublicSchema(s: SqlRunner): Promise<void> {
  await s.exec(`DROP SCHEMA public CASCADE; CREATE SCHEMA public; GRANT USAGE, CREATE ON SCHEMA public TO PUBLIC;`);
}

export async function setRestoreSession(s: SqlRunner): Promise<void> {
  await s.exec(`SET LOCAL TIME ZONE 'UTC'; SET LOCAL maintenance_work_mem = '256MB';`);
}

export async function createMigrationsTable(s: SqlRunner): Promise<void> {
  await s.exec(`CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
    "id" VARCHAR(36) PRIMARY KEY NOT NULL, "checksum" VARCHAR(64) NOT NULL, "finished_at" TIMESTAMPTZ,
    "migration_name" VARCHAR(255) NOT NULL, "logs" TEXT, "rolled_back_at" TIMESTAMPTZ,
    "started_at" TIMESTAMPTZ NOT NULL DEFAULT now(), "applied_steps_count" INTEGER NOT NULL DEFAULT 0)`);
}

export async function recordMigration(s: SqlRunner, name: string, checksum: string): Promise<void> {
  await s.query(
    `INSERT INTO "_prisma_migrations" (id, checksum, finished_at, migration_name, applied_steps_count, started_at) VALUES (gen_random_uuid()::text, $1, now(), $2, 1, now())`,
    [checksum, name],
  );
}

/** Indexes that back no constraint (they can be dropped before loading and rebuilt after). */
export function plainIndexes(s: SqlRunner): Promise<Array<{ name: string; def: string }>> {
  return s.query<{ name: string; def: string }>(
    `SELECT i.relname AS name, pg_get_indexdef(i.oid) AS def FROM pg_index x
     JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid JOIN pg_namespace n ON n.oid = t.relnamespace
     WHERE n.nspname = 'public' AND t.relname <> '_prisma_migrations'
       AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid)`,
  );
}

export async function dropIndex(s: SqlRunner, name: string): Promise<void> {
  await s.exec(`DROP INDEX public.${q(name)}`);
}

/** Replays an index definition read by plainIndexes (pg_get_indexdef's own text). */
export async function createIndex(s: SqlRunner, def: string): Promise<void> {
  await s.exec(def);
}

/**
 * Turns off triggers (and, for a superuser, foreign-key checks) for the rest of the transaction: replica
 * mode where the role may use it; otherwise each table's user triggers. Returns the undo.
 */
export async function triggersOff(s: SqlRunner, tables: string[]): Promise<() => Promise<void>> {
  await s.exec("SAVEPOINT sot_replica");
  try {
    await s.exec("SET LOCAL session_replication_role = replica");
    await s.exec("RELEASE SAVEPOINT sot_replica");
    return async () => {};
  } catch {
    await s.exec("ROLLBACK TO SAVEPOINT sot_replica");
    // Not a superuser: this transaction created the tables, so it owns them and may disable user triggers.
    for (const t of tables) await s.exec(`ALTER TABLE public.${q(t)} DISABLE TRIGGER USER`);
    return async () => {
      for (const t of tables) await s.exec(`ALTER TABLE public.${q(t)} ENABLE TRIGGER USER`);
    };
  }
}

export async function truncateTables(s: SqlRunner, tables: string[]): Promise<void> {
  if (tables.length) await s.exec(`TRUNCATE ${tables.map((t) => `public.${q(t)}`).join(", ")} CASCADE`);
}

/** Inserts rows given as a JSON array (columns by name); returns how many went in. */
export async function insertJsonRows(s: SqlRunner, t: { name: string; columns: Array<{ name: string }> }, json: string): Promise<number> {
  const cols = t.columns.map((c) => q(c.name)).join(", ");
  const rows = await s.query<{ n: string }>(
    `WITH ins AS (INSERT INTO public.${q(t.name)} (${cols}) OVERRIDING SYSTEM VALUE SELECT ${cols} FROM json_populate_recordset(NULL::public.${q(t.name)}, $1::json) RETURNING 1)
     SELECT count(*)::text AS n FROM ins`,
    [json],
  );
  return Number(rows[0].n);
}

/**
 * A temporary set of keys (the table's primary-key columns) that later layers of a snapshot replace:
 * rows of earlier layers with these keys are skipped.
 */
export async function createSkipSet(s: SqlRunner, t: { name: string; primaryKey: string[] }): Promise<string> {
  const name = `sot_skip_${t.name.replace(/[^a-z0-9_]/gi, "_").slice(0, 40)}`;
  const cols = t.primaryKey.map((k) => q(k)).join(", ");
  await s.exec(`DROP TABLE IF EXISTS pg_temp.${q(name)}; CREATE TEMP TABLE ${q(name)} ON COMMIT DROP AS SELECT ${cols} FROM public.${q(t.name)} WITH NO DATA;`);
  return name;
}

export async function addToSkipSet(s: SqlRunner, skip: string, t: { name: string; primaryKey: string[] }, keysJson: string): Promise<void> {
  const cols = t.primaryKey.map((k) => q(k)).join(", ");
  await s.query(`INSERT INTO pg_temp.${q(skip)} (${cols}) SELECT ${cols} FROM json_populate_recordset(NULL::public.${q(t.name)}, $1::json)`, [keysJson]);
  await s.exec(`ANALYZE pg_temp.${q(skip)}`);
}

/** Like insertJsonRows, leaving out rows whose key is in the skip set; returns [inserted, skipped]. */
export async function insertJsonRowsExcept(
  s: SqlRunner,
  t: { name: string; columns: Array<{ name: string }>; primaryKey: string[] },
  skip: string,
  json: string,
): Promise<[number, number]> {
  const cols = t.columns.map((c) => q(c.name)).join(", ");
  const match = t.primaryKey.map((k) => `k.${q(k)} = r.${q(k)}`).join(" AND ");
  const rows = await s.query<{ n: string; total: string }>(
    `WITH r AS (SELECT * FROM json_populate_recordset(NULL::public.${q(t.name)}, $1::json)),
          ins AS (INSERT INTO public.${q(t.name)} (${cols}) OVERRIDING SYSTEM VALUE
                  SELECT ${cols.split(", ").map((c) => `r.${c}`).join(", ")} FROM r WHERE NOT EXISTS (SELECT 1 FROM pg_temp.${q(skip)} k WHERE ${match}) RETURNING 1)
     SELECT (SELECT count(*) FROM ins)::text AS n, (SELECT count(*) FROM r)::text AS total`,
    [json],
  );
  const n = Number(rows[0].n);
  return [n, Number(rows[0].total) - n];
}

export async function setSequence(s: SqlRunner, seq: { name: string; lastValue: string; isCalled: boolean }): Promise<void> {
  await s.query(`SELECT setval($1::regclass, $2::bigint, $3)`, [`public.${q(seq.name)}`, seq.lastValue, seq.isCalled]);
}

/** The transaction-snapshot settings a backup's reading transaction starts with. */
export async function beginSnapshotRead(s: SqlRunner): Promise<void> {
  await s.exec("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY");
}

/** Keys KES had shredded in the database a restore replaces (none when it has no KES tables). */
export async function shreddedKesKeys(s: SqlRunner): Promise<Array<{ name: string; shreddedAt: Date }>> {
  const [t] = await s.query<{ exists: boolean }>(`SELECT to_regclass('public.kes_keys') IS NOT NULL AS exists`);
  if (!t?.exists) return [];
  return s.query<{ name: string; shreddedAt: Date }>(`SELECT name, shredded_at AS "shreddedAt" FROM kes_keys WHERE status = 'shredded' ORDER BY name`);
}

/**
 * Shreds again, in the restored rows, the keys the replaced database had shredded (a snapshot taken before
 * a shred holds the key's material): what they protected stays unreadable. The names it shredded again.
 */
export async function reapplyShreds(s: SqlRunner, keys: Array<{ name: string; shreddedAt: Date }>): Promise<string[]> {
  if (!keys.length) return [];
  const names = keys.map((k) => k.name);
  await s.query(
    `UPDATE kes_key_versions v SET material = NULL, master_key_id = NULL FROM kes_keys k WHERE v.key_id = k.id AND k.name = ANY($1::text[]) AND k.status <> 'shredded'`,
    [names],
  );
  await s.query(
    `UPDATE kes_grants g SET revoked_at = now() FROM kes_keys k WHERE g.key_id = k.id AND k.name = ANY($1::text[]) AND k.status <> 'shredded' AND g.revoked_at IS NULL`,
    [names],
  );
  const rows = await s.query<{ name: string }>(
    `UPDATE kes_keys k SET status = 'shredded', shredded_at = x.at
       FROM unnest($1::text[], $2::timestamptz[]) AS x(name, at)
      WHERE k.name = x.name AND k.status <> 'shredded' RETURNING k.name`,
    [names, keys.map((k) => k.shreddedAt)],
  );
  return rows.map((r) => r.name).sort();
}

/** Every key shredded in the restored database. */
export async function restoredShreddedKeys(s: SqlRunner): Promise<string[]> {
  const [t] = await s.query<{ exists: boolean }>(`SELECT to_regclass('public.kes_keys') IS NOT NULL AS exists`);
  if (!t?.exists) return [];
  return (await s.query<{ name: string }>(`SELECT name FROM kes_keys WHERE status = 'shredded' ORDER BY name`)).map((r) => r.name);
}
