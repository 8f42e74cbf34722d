// Backups as a service: start one (Admin page, scheduler, CLI), run it in the backup worker, record
// progress and outcome in the `backups` table. The snapshot/restore rules live in snapshot.ts,
// restore.ts and retention.ts; this file only orchestrates and records.
import { getConfig } from "../config";
import { getKeyRing } from "../crypto/keys";
import { getDb, type Db } from "../db/client";
import { ConflictError, NotFoundError } from "../errors";
import { defineJob, enqueue } from "../jobs/queue";
import { applyRetention } from "./retention";
import { createSnapshot, type SnapshotProgress } from "./snapshot";
import { targetFromConfig, type BackupTarget } from "./target";

export type BackupTrigger = "manual" | "schedule" | "cli";
export type BackupStatus = "queued" | "running" | "succeeded" | "failed";

export interface BackupView {
  id: string;
  trigger: BackupTrigger;
  scheduleRunId: string | null;
  status: BackupStatus;
  phase: string;
  target: string;
  snapshotId: string | null;
  rowsTotal: number;
  rowsDone: number;
  objectsTotal: number;
  objectsUploaded: number;
  bytesTotal: number;
  bytesUploaded: number;
  snapshotsDeleted: number;
  objectsSwept: number;
  error: string | null;
  startedAt: string | null;
  finishedAt: string | null;
  createdAt: string;
}

/** A running backup that has not reported for this long is considered dead (its worker stopped). */
const STALE_MS = 10 * 60_000;
const ACTIVE_LOCK = 705_000_007;

const COLUMNS = `id::text, trigger, schedule_run_id::text AS "scheduleRunId", status, phase, target, snapshot_id AS "snapshotId",
  rows_total AS "rowsTotal", rows_done AS "rowsDone", objects_total AS "objectsTotal", objects_uploaded AS "objectsUploaded",
  bytes_total::text AS "bytesTotal", bytes_uploaded::text AS "bytesUploaded", snapshots_deleted AS "snapshotsDeleted",
  objects_swept AS "objectsSwept", error, started_at AS "startedAt", finished_at AS "finishedAt", created_at AS "createdAt"`;

function toView(r: Record<string, unknown>): BackupView {
  const iso = (v: unknown) => (v == null ? null : new Date(v as string).toISOString());
  return {
    ...(r as unknown as BackupView),
    bytesTotal: Number(r.bytesTotal),
    bytesUploaded: Number(r.bytesUploaded),
    startedAt: iso(r.startedAt),
    finishedAt: iso(r.finishedAt),
    createdAt: iso(r.createdAt)!,
  };
}

async function failStale(db: Db): Promise<void> {
  await db.sql.query(
    `UPDATE backups SET status = 'failed', phase = 'done', finished_at = now(),
       error = 'The backup worker stopped reporting (crashed or was stopped); the snapshot was not completed and earlier snapshots are intact.'
     WHERE status = 'running' AND heartbeat_at < now() - ($1::int * interval '1 millisecond')`,
    [STALE_MS],
  );
  await db.sql.query(
    `UPDATE backups SET status = 'failed', phase = 'done', finished_at = now(),
       error = 'No backup worker took this backup within 10 minutes: is workers/backup.ts running (or WORKERS_IN_PROCESS=true)?'
     WHERE status = 'queued' AND created_at < now() - ($1::int * interval '1 millisecond')`,
    [STALE_MS],
  );
}

/** Records a new backup (refused while another is queued or running). */
export async function createBackupRecord(db: Db, trigger: BackupTrigger, scheduleRunId: string | null, target: BackupTarget): Promise<string> {
  await failStale(db);
  // One statement-level serialisation point across processes: the advisory lock is held until commit.
  return db.prisma.$transaction(async (tx) => {
    await tx.$queryRawUnsafe(`SELECT 1 AS ok FROM (SELECT pg_advisory_xact_lock(${ACTIVE_LOCK})) l`);
    const active = await tx.$queryRawUnsafe<Array<{ id: string }>>(`SELECT id::text FROM backups WHERE status IN ('queued', 'running') LIMIT 1`);
    if (active.length) throw new ConflictError(
        `Backup ${active[0].id} is already queued or running; wait for it to finish (one that stops reporting is marked failed after 10 minutes).`,
        { backupId: active[0].id },
      );
    const rows = await tx.$queryRawUnsafe<Array<{ id: string }>>(
      `INSERT INTO backups (trigger, schedule_run_id, target) VALUES ($1, $2::uuid, $3) RETURNING id::text`,
      trigger,
      scheduleRunId,
      target.description,
    );
    return rows[0].id;
  });
}

export const backupRunJob = defineJob<{ backupId: string }>({
  name: "backup.run",
  handler: async ({ backupId }, ctx) => {
    await runBackup(backupId, { signal: ctx.signal });
  },
  // runBackup records its own failure; a retry would be a new backup, started by a person or a schedule.
  retryLimit: 0,
  expireInSeconds: 6 * 3600,
});

export const backupJobs = [backupRunJob];

/** Starts a backup in the backup worker. For the scheduler and the Admin page. */
export async function startBackup(input: { trigger: "manual" | "schedule"; scheduleRunId?: string | null }): Promise<{ kind: "backup"; id: string }> {
  const db = await getDb();
  const id = await createBackupRecord(db, input.trigger, input.scheduleRunId ?? null, targetFromConfig(getConfig()));
  try {
    await enqueue(backupRunJob, { backupId: id });
  } catch (err) {
    await db.sql.query(`UPDATE backups SET status = 'failed', phase = 'done', finished_at = now(), error = $2 WHERE id = $1`, [
      id,
      `Could not queue the backup: ${(err as Error).message}`,
    ]);
    throw err;
  }
  return { kind: "backup", id };
}

export async function getBackup(id: string, db?: Db): Promise<BackupView> {
  const d = db ?? (await getDb());
  if (!/^[0-9a-f-]{36}$/i.test(id)) throw new NotFoundError(`Backup ${id}`);
  const rows = await d.sql.query<Record<string, unknown>>(`SELECT ${COLUMNS} FROM backups WHERE id = $1::uuid`, [id]);
  if (!rows[0]) throw new NotFoundError(`Backup ${id}`);
  return toView(rows[0]);
}

export async function listBackups(limit = 50, db?: Db): Promise<BackupView[]> {
  const d = db ?? (await getDb());
  await failStale(d);
  const rows = await d.sql.query<Record<string, unknown>>(`SELECT ${COLUMNS} FROM backups ORDER BY created_at DESC LIMIT $1`, [limit]);
  return rows.map(toView);
}

/**
 * Runs a recorded backup to the end: snapshot, then retention. Never throws for a failed backup —
 * the failure is recorded on the row (with a message naming the cause) and returned.
 */
export async function runBackup(
  id: string,
  opts: { db?: Db; target?: BackupTarget; signal?: AbortSignal; onProgress?: (p: SnapshotProgress) => void; now?: Date } = {},
): Promise<BackupView> {
  const db = opts.db ?? (await getDb());
  const config = getConfig();
  const claimed = await db.sql.query(
    `UPDATE backups SET status = 'running', phase = 'reading', started_at = now(), heartbeat_at = now() WHERE id = $1::uuid AND status = 'queued' RETURNING id`,
    [id],
  );
  if (!claimed.length) return getBackup(id, db);
  const target = opts.target ?? targetFromConfig(config);
  let last = 0;
  let writing: Promise<unknown> = Promise.resolve();
  const save = (p: SnapshotProgress | { phase: string }, force = false) => {
    const now = Date.now();
    if (!force && now - last < 1000) return;
    last = now;
    const q = "rowsTotal" in p
      ? db.sql.query(
          `UPDATE backups SET phase = $2, rows_total = $3, rows_done = $4, objects_total = $5, objects_uploaded = $6, bytes_total = $7, bytes_uploaded = $8, heartbeat_at = now() WHERE id = $1::uuid`,
          [id, p.phase, p.rowsTotal, p.rowsDone, p.objectsTotal, p.objectsUploaded, p.bytesTotal, p.bytesUploaded],
        )
      : db.sql.query(`UPDATE backups SET phase = $2, heartbeat_at = now() WHERE id = $1::uuid`, [id, p.phase]);
    writing = writing.then(() => q).catch(() => {});
  };
  try {
    const ring = await getKeyRing();
    const result = await createSnapshot({
      db,
      target,
      ring,
      now: opts.now,
      signal: opts.signal,
      concurrency: config.BACKUP_CONCURRENCY,
      onProgress: (p) => {
        opts.onProgress?.(p);
        save(p);
      },
    });
    save(result, true);
    save({ phase: "retention" }, true);
    await writing;
    let retentionNote: string | null = null;
    let deleted = 0;
    let swept = 0;
    try {
      const r = await applyRetention({ target, ring, keepDaily: config.BACKUP_KEEP_DAILY, keepWeekly: config.BACKUP_KEEP_WEEKLY, now: opts.now });
      deleted = r.deleted.length;
      swept = r.swept;
    } catch (err) {
      // The snapshot itself is complete and verified-writable; a failed sweep only delays clean-up.
      retentionNote = `Snapshot written; retention did not finish: ${(err as Error).message}`;
    }
    await db.sql.query(
      `UPDATE backups SET status = 'succeeded', phase = 'done', snapshot_id = $2, rows_total = $3, rows_done = $4, objects_total = $5,
         objects_uploaded = $6, bytes_total = $7, bytes_uploaded = $8, snapshots_deleted = $9, objects_swept = $10, error = $11,
         finished_at = now(), heartbeat_at = now() WHERE id = $1::uuid`,
      [id, result.snapshotId, result.rowsTotal, result.rowsDone, result.objectsTotal, result.objectsUploaded, result.bytesTotal, result.bytesUploaded, deleted, swept, retentionNote],
    );
  } catch (err) {
    await writing;
    await db.sql.query(`UPDATE backups SET status = 'failed', phase = 'done', error = $2, finished_at = now() WHERE id = $1::uuid`, [
      id,
      (err as Error).message || String(err),
    ]);
  }
  return getBackup(id, db);
}
