// The scheduler's SQL: claiming due schedules and recording runs. Every statement takes the runner it
// runs on (`db.sql`, or the `tx` of a start-lock transaction: see engine.ts for why starts are serialised).
import type { SqlRunner } from "../db/sql-runner";

/** Key of the advisory lock around run starts ("SOT" scheduler). */
const START_LOCK_KEY = 6_040_001;

export interface DueRow {
  id: string;
  name: string;
  target_kind: string;
  target_config: unknown;
  interval_minutes: number | null;
  cron: string | null;
  time_zone: string;
  anchor_at: Date;
  next_run_at: Date;
  run_as_user_id: string | null;
  max_model_calls: number | null;
  max_retries: number | null;
  max_runtime_seconds: number | null;
}

/** Waits for the start lock (held until the transaction ends). */
export async function waitForStartLock(tx: SqlRunner): Promise<void> {
  await tx`SELECT 1 AS ok FROM (SELECT pg_advisory_xact_lock(${START_LOCK_KEY})) l`;
}

/** Takes the start lock if it is free; false when another process holds it. */
export async function tryStartLock(tx: SqlRunner): Promise<boolean> {
  const [{ got }] = await tx<{ got: boolean }>`SELECT pg_try_advisory_xact_lock(${START_LOCK_KEY}) AS got`;
  return got;
}

export async function nowAndRunning(tx: SqlRunner): Promise<{ now: Date; running: number }> {
  const [row] = await tx<{ now: Date; running: number }>`
    SELECT now() AS now, (SELECT count(*)::int FROM schedule_runs WHERE status = 'running') AS running`;
  return row;
}

/** Due, enabled schedules under their own limit, locked for this transaction (edited ones are skipped). */
export function lockDueSchedules(tx: SqlRunner, limit: number): Promise<DueRow[]> {
  return tx<DueRow>`
    SELECT s.id, s.name, s.target_kind, s.target_config, s.interval_minutes, s.cron, s.time_zone, s.anchor_at, s.next_run_at, s.run_as_user_id,
           s.max_model_calls, s.max_retries, s.max_runtime_seconds
    FROM schedules s
    WHERE s.enabled AND s.next_run_at <= now()
      AND (SELECT count(*) FROM schedule_runs r WHERE r.schedule_id = s.id AND r.status = 'running') < s.max_concurrent
    ORDER BY s.next_run_at, s.id
    LIMIT ${limit}
    FOR UPDATE OF s SKIP LOCKED`;
}

/** One run per (schedule, due time); a due time that has a run already yields nothing (unique index). */
export function insertScheduledRuns(tx: SqlRunner, scheduleIds: string[], dueAts: Date[], owner: string): Promise<Array<{ id: string; schedule_id: string }>> {
  return tx<{ id: string; schedule_id: string }>`
    INSERT INTO schedule_runs (schedule_id, trigger, status, due_at, claimed_by)
    SELECT d.id, 'schedule', 'running', d.due_at, ${owner}
    FROM unnest(${scheduleIds}::uuid[], ${dueAts}::timestamptz[]) AS d(id, due_at)
    ON CONFLICT (schedule_id, due_at) DO NOTHING
    RETURNING id::text, schedule_id::text`;
}

export async function advanceSchedules(tx: SqlRunner, scheduleIds: string[], nextRunAts: Array<Date | null>): Promise<void> {
  await tx`
    UPDATE schedules s SET next_run_at = d.next_run_at, last_run_at = now(), updated_at = now()
    FROM unnest(${scheduleIds}::uuid[], ${nextRunAts}::timestamptz[]) AS d(id, next_run_at)
    WHERE s.id = d.id`;
}

export async function lockSchedule(tx: SqlRunner, scheduleId: string): Promise<(DueRow & { max_concurrent: number }) | null> {
  const rows = await tx<DueRow & { max_concurrent: number }>`
    SELECT id::text, name, target_kind, target_config, max_concurrent, run_as_user_id::text, max_model_calls, max_retries, max_runtime_seconds
    FROM schedules WHERE id = ${scheduleId}::uuid FOR UPDATE`;
  return rows[0] ?? null;
}

/** Runs in progress: all of them, and this schedule's. */
export async function runningCounts(tx: SqlRunner, scheduleId: string): Promise<{ running: number; mine: number }> {
  const [row] = await tx<{ running: number; mine: number }>`
    SELECT count(*)::int AS running, count(*) FILTER (WHERE schedule_id = ${scheduleId}::uuid)::int AS mine
    FROM schedule_runs WHERE status = 'running'`;
  return row;
}

export async function insertManualRun(tx: SqlRunner, scheduleId: string, owner: string): Promise<string> {
  const [run] = await tx<{ id: string }>`
    INSERT INTO schedule_runs (schedule_id, trigger, status, due_at, claimed_by)
    VALUES (${scheduleId}::uuid, 'manual', 'running', NULL, ${owner})
    RETURNING id::text`;
  await tx`UPDATE schedules SET last_run_at = now(), updated_at = now() WHERE id = ${scheduleId}::uuid`;
  return run.id;
}

/**
 * stopped → running, once, when the work a schedule run handed off (an evaluation run, an import) is resumed —
 * from the schedule's page or the work's own: the watcher follows it again and the run ends as the work does.
 * Its start time moves to now, so its schedule's timeout counts from the resume.
 */
export async function reopenStoppedRunOf(sql: SqlRunner, resultKind: string, resultId: string): Promise<boolean> {
  const rows = await sql<{ id: string }>`
    UPDATE schedule_runs SET status = 'running', error = NULL, finished_at = NULL, started_at = now(), heartbeat_at = now()
    WHERE result_kind = ${resultKind} AND result_id = ${resultId} AND status = 'stopped'
    RETURNING id::text`;
  return rows.length > 0;
}

export function handedOffRuns(sql: SqlRunner, limit: number): Promise<Array<{ id: string; result_id: string; result_kind: string; target_kind: string }>> {
  return sql<{ id: string; result_id: string; result_kind: string; target_kind: string }>`
    SELECT r.id::text, r.result_id, r.result_kind, s.target_kind
    FROM schedule_runs r JOIN schedules s ON s.id = r.schedule_id
    WHERE r.status = 'running' AND r.result_id IS NOT NULL
    ORDER BY r.heartbeat_at
    LIMIT ${limit}`;
}

/** Fails runs whose process stopped sending heartbeats, and runs past their schedule's timeout. */
export async function failDeadScheduleRuns(sql: SqlRunner, deadRunSeconds: number): Promise<string[]> {
  const rows = await sql<{ id: string }>`
    UPDATE schedule_runs r
    SET status = 'failed', finished_at = now(),
        error = CASE WHEN r.heartbeat_at < now() - ${deadRunSeconds}::int * interval '1 second'
          THEN 'the process running it stopped (no heartbeat for ' || ${deadRunSeconds}::int || ' s)'
          ELSE 'timed out after ' || s.timeout_minutes || ' min' END
    FROM schedules s
    WHERE s.id = r.schedule_id AND r.status = 'running'
      AND (r.heartbeat_at < now() - ${deadRunSeconds}::int * interval '1 second'
           OR r.started_at < now() - s.timeout_minutes * interval '1 minute')
    RETURNING r.id::text`;
  return rows.map((r) => r.id);
}

/** The latest run of each schedule. */
export async function lastRunIds(sql: SqlRunner, scheduleIds: string[]): Promise<string[]> {
  const rows = await sql<{ id: string }>`
    SELECT DISTINCT ON (schedule_id) id::text FROM schedule_runs
    WHERE schedule_id = ANY(${scheduleIds}::uuid[]) ORDER BY schedule_id, started_at DESC, id`;
  return rows.map((r) => r.id);
}
