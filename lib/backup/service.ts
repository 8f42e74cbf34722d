// Backups as a service: start one (Admin page, scheduler, CLI), run it in the backup worker, record
// progress and outcome in the `backups` table. The snapshot/restore rules live in snapshot.ts,
// restore.ts and retention.ts; this file only orchestrates and records.
import { requireAdmin, type AccessContext } from "../access/context";
import { auditAs } from "../audit";
import { getConfig } from "../config";
import { getKeyRing, KeyConfigError, type KeyRing } from "../crypto/keys";
import { getDb, type Db } from "../db/client";
import { z } from "zod";
import { ConflictError, NotFoundError } from "../errors";
import { defineJob, enqueue } from "../jobs/queue";
import { trackedRuns } from "../jobs/tracked-run";
import { notify } from "../notify";
import { kesFor } from "./naming";
import { payloadRing } from "./payload-keys";
import { insertBackupUnlessActive, selectBackup, selectRecentBackups } from "./queries";
import { applyRetention } from "./retention";
import { createSnapshot, newSnapshotId, type SnapshotProgress } from "./snapshot";
import { targetFromConfig, type BackupTarget } from "./target";
import type { BackupTrigger, BackupView } from "./types";

/** A running backup that has not reported for this long is considered dead (its worker stopped). */
const STALE_MS = 10 * 60_000;
const runs = trackedRuns("backup");

/** Fails running backups whose worker stopped reporting, and queued ones no worker took. */
async function failStaleBackups(db: Db): Promise<void> {
  await runs.failStale(db.sql, {
    status: "running",
    olderThanMs: STALE_MS,
    error: "The backup worker stopped reporting (crashed or was stopped); the snapshot was not completed and earlier snapshots are intact.",
    fields: { phase: "done" },
  });
  await runs.failStale(db.sql, {
    status: "queued",
    olderThanMs: STALE_MS,
    error: "No backup worker took this backup within 10 minutes: is workers/backup.ts running (or WORKERS_IN_PROCESS=true)?",
    fields: { phase: "done" },
  });
}

/** The snapshot's counters as progress columns. */
const progressFields = (p: SnapshotProgress) => ({
  phase: p.phase,
  rows_total: p.rowsTotal,
  rows_done: p.rowsDone,
  objects_total: p.objectsTotal,
  objects_uploaded: p.objectsUploaded,
  bytes_total: p.bytesTotal,
  bytes_uploaded: p.bytesUploaded,
});

/** Records a new backup (refused while another is queued or running). */
export async function createBackupRecord(db: Db, trigger: BackupTrigger, scheduleRunId: string | null, target: BackupTarget): Promise<string> {
  await failStaleBackups(db);
  const r = await insertBackupUnlessActive(db.sql, { trigger, scheduleRunId, target: target.description });
  if ("active" in r) {
    throw new ConflictError(
      `Backup ${r.active} is already queued or running; wait for it to finish (one that stops reporting is marked failed after 10 minutes).`,
      { backupId: r.active },
    );
  }
  return r.created;
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

/** Tells the notification targets (the reason stays on the backup page: error text may name paths). */
async function notifyBackupFailed(db: Db, id: string): Promise<void> {
  const b = await db.prisma.backup.findUnique({ where: { id }, select: { trigger: true } });
  const trigger = b?.trigger === "schedule" || b?.trigger === "cli" ? b.trigger : "manual";
  await notify({ kind: "backup.failed", backupId: id, trigger }, { db });
}

/**
 * Starts a backup in the backup worker: from the Admin page (audited here) or from a schedule run (as the
 * user the schedule runs as; the schedule run records it). 409 while another one is active.
 */
export async function startBackup(ctx: AccessContext, input: { trigger: "manual" | "schedule"; scheduleRunId?: string | null }): Promise<BackupView> {
  requireAdmin(ctx);
  const { db } = ctx;
  const id = await createBackupRecord(db, input.trigger, input.scheduleRunId ?? null, targetFromConfig(getConfig()));
  try {
    await enqueue(backupRunJob, { backupId: id });
  } catch (err) {
    if (await runs.fail(db.sql, id, `Could not queue the backup: ${(err as Error).message}`, { phase: "done" })) await notifyBackupFailed(db, id);
    throw err;
  }
  if (!input.scheduleRunId) await auditAs(ctx, "backup.start", `backup:${id}`);
  return backupView(db, id);
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

async function backupView(db: Db, id: string): Promise<BackupView> {
  // Anything but a UUID names no backup (404, like an unknown one), whoever calls.
  const row = UUID_RE.test(id) ? await selectBackup(db.sql, id) : null;
  if (!row) throw new NotFoundError(`Backup ${id}`);
  return row;
}

/** One backup's status and progress (the Admin page polls it). */
export async function getBackup(ctx: AccessContext, id: string): Promise<BackupView> {
  requireAdmin(ctx);
  return backupView(ctx.db, id);
}

/** What GET /api/backups accepts. */
export const listBackupsQuery = z.object({ limit: z.coerce.number().int().min(1).max(500).default(50) }).strict();

/** Backup history, newest first; backups whose worker stopped reporting are marked failed first. */
export async function listBackups(ctx: AccessContext, input: Partial<z.output<typeof listBackupsQuery>> = {}): Promise<BackupView[]> {
  requireAdmin(ctx);
  const { limit } = listBackupsQuery.parse(input);
  await failStaleBackups(ctx.db);
  return selectRecentBackups(ctx.db.sql, limit);
}

/** A backup's outcome so far, for the scheduler following a backup it started; null when the record is gone. */
export async function backupStatus(db: Db, id: string): Promise<Pick<BackupView, "status" | "error"> | null> {
  return backupView(db, id).catch((err) => {
    if (err instanceof NotFoundError) return null;
    throw err;
  });
}

/** The process's master keys, or null when it has none (with KES_URL it needs none). */
export async function processKeyRing(): Promise<KeyRing | null> {
  try {
    return await getKeyRing();
  } catch (err) {
    if (err instanceof KeyConfigError) return null;
    throw err;
  }
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
  if (!(await runs.claim(db.sql, id, { set: { phase: "reading" } }))) return backupView(db, id);
  const target = opts.target ?? targetFromConfig(config);
  let last = 0;
  let writing: Promise<unknown> = Promise.resolve();
  const save = (p: SnapshotProgress | { phase: string }, force = false) => {
    const now = Date.now();
    if (!force && now - last < 1000) return;
    last = now;
    const q = runs.progress(db.sql, id, "rowsTotal" in p ? progressFields(p) : { phase: p.phase });
    writing = writing.then(() => q).catch(() => {});
  };
  try {
    // The process's master keys, if it has any, only read snapshots written before KES; new payload keys
    // come from KES (KES down: the backup fails here, before anything is written to the target).
    const legacy = await processKeyRing();
    const kes = await kesFor(db, legacy);
    const snapshotId = newSnapshotId(opts.now ?? new Date());
    const ring = await payloadRing(target, kes, legacy, snapshotId);
    const result = await createSnapshot({
      db,
      target,
      ring,
      kes,
      snapshotId,
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
    await runs.succeed(
      db.sql,
      id,
      { ...progressFields(result), phase: "done", snapshot_id: result.snapshotId, snapshots_deleted: deleted, objects_swept: swept },
      retentionNote,
    );
  } catch (err) {
    await writing;
    if (await runs.fail(db.sql, id, (err as Error).message || String(err), { phase: "done" })) await notifyBackupFailed(db, id);
  }
  return backupView(db, id);
}
