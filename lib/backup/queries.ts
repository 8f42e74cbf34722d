// The `backups` table's SQL: recording a backup, its progress and its outcome.
import type { SqlRunner } from "../db/sql-runner";

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

/** Finished backups by outcome: the last one's end and how many ended in the last day (for the metrics). */
export function backupOutcomes(sql: SqlRunner): Promise<Array<{ status: string; last: Date | null; day: string }>> {
  return sql<{ status: string; last: Date | null; day: string }>`
    SELECT status, max(finished_at) AS last, count(*) FILTER (WHERE finished_at > now() - interval '1 day') AS day
    FROM backups WHERE status IN ('succeeded', 'failed') GROUP BY status`;
}
