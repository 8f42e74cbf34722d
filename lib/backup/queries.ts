// The `backups` table's SQL: recording a backup, its progress and its outcome.
import type { SqlRunner } from "../db/sql-runner";
import type { SnapshotProgress } from "./snapshot";

const ACTIVE_LOCK = 705_000_007;

export interface BackupRecord {
  id: string;
  trigger: string;
  scheduleRunId: string | null;
  status: string;
  phase: string;
  target: string;
  snapshotId: string | null;
  rowsTotal: number;
  rowsDone: number;
  objectsTotal: number;
  objectsUploaded: number;
  /** bigint columns, as text. */
  bytesTotal: string;
  bytesUploaded: string;
  snapshotsDeleted: number;
  objectsSwept: number;
  error: string | null;
  startedAt: Date | null;
  finishedAt: Date | null;
  createdAt: Date;
}

const COLUMNS = `id::text, trigger, schedule_run_id::text AS "scheduleRunId", status, phase, target, snapshot_id AS "snapshotId",
  rows_total AS "rowsTotal", rows_done AS "rowsDone", objects_total AS "objectsTotal", objects_uploaded AS "objectsUploaded",
  bytes_total::text AS "bytesTotal", bytes_uploaded::text AS "bytesUploaded", snapshots_deleted AS "snapshotsDeleted",
  objects_swept AS "objectsSwept", error, started_at AS "startedAt", finished_at AS "finishedAt", created_at AS "createdAt"`;

export async function selectBackup(sql: SqlRunner, id: string): Promise<BackupRecord | null> {
  const rows = await sql.query<BackupRecord>(`SELECT ${COLUMNS} FROM backups WHERE id = $1::uuid`, [id]);
  return rows[0] ?? null;
}

export function selectRecentBackups(sql: SqlRunner, limit: number): Promise<BackupRecord[]> {
  return sql.query<BackupRecord>(`SELECT ${COLUMNS} FROM backups ORDER BY created_at DESC LIMIT $1`, [limit]);
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

export async function recordBackupProgress(sql: SqlRunner, id: string, p: SnapshotProgress | { phase: string }): Promise<void> {
  if ("rowsTotal" in p) {
    await sql`
      UPDATE backups SET phase = ${p.phase}, rows_total = ${p.rowsTotal}, rows_done = ${p.rowsDone}, objects_total = ${p.objectsTotal},
        objects_uploaded = ${p.objectsUploaded}, bytes_total = ${p.bytesTotal}, bytes_uploaded = ${p.bytesUploaded}, heartbeat_at = now()
      WHERE id = ${id}::uuid`;
  } else {
    await sql`UPDATE backups SET phase = ${p.phase}, heartbeat_at = now() WHERE id = ${id}::uuid`;
  }
}

export async function recordBackupSucceeded(
  sql: SqlRunner,
  id: string,
  r: SnapshotProgress & { snapshotId: string; snapshotsDeleted: number; objectsSwept: number; note: string | null },
): Promise<void> {
  await sql`
    UPDATE backups SET status = 'succeeded', phase = 'done', snapshot_id = ${r.snapshotId}, rows_total = ${r.rowsTotal}, rows_done = ${r.rowsDone},
      objects_total = ${r.objectsTotal}, objects_uploaded = ${r.objectsUploaded}, bytes_total = ${r.bytesTotal}, bytes_uploaded = ${r.bytesUploaded},
      snapshots_deleted = ${r.snapshotsDeleted}, objects_swept = ${r.objectsSwept}, error = ${r.note}::text, finished_at = now(), heartbeat_at = now()
    WHERE id = ${id}::uuid`;
}

/** Queued → running, once: false when another worker took it (or it is no longer queued). */
export async function claimBackup(sql: SqlRunner, id: string): Promise<boolean> {
  const rows = await sql`
    UPDATE backups SET status = 'running', phase = 'reading', started_at = now(), heartbeat_at = now()
    WHERE id = ${id}::uuid AND status = 'queued' RETURNING id`;
  return rows.length > 0;
}

export async function recordBackupFailed(sql: SqlRunner, id: string, error: string): Promise<void> {
  await sql`UPDATE backups SET status = 'failed', phase = 'done', error = ${error}, finished_at = now() WHERE id = ${id}::uuid`;
}

/** Fails running backups whose worker stopped reporting, and queued ones no worker took, after `staleMs`. */
export async function failStaleBackups(sql: SqlRunner, staleMs: number): Promise<void> {
  await sql`
    UPDATE backups SET status = 'failed', phase = 'done', finished_at = now(),
      error = 'The backup worker stopped reporting (crashed or was stopped); the snapshot was not completed and earlier snapshots are intact.'
    WHERE status = 'running' AND heartbeat_at < now() - (${staleMs}::int * interval '1 millisecond')`;
  await sql`
    UPDATE backups SET status = 'failed', phase = 'done', finished_at = now(),
      error = 'No backup worker took this backup within 10 minutes: is workers/backup.ts running (or WORKERS_IN_PROCESS=true)?'
    WHERE status = 'queued' AND created_at < now() - (${staleMs}::int * interval '1 millisecond')`;
}
