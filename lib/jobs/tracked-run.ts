// One way to track a long-running thing — a backup, an import, an evaluation run, a schedule run — on its
// row: claim it (once), keep its heartbeat fresh, report progress, end it (the first end wins), cancel it,
// and fail the ones whose worker stopped reporting. The run tables differ only in names (TRACKED_TABLES);
// the rules are here, once. Cancelling is cooperative: the row ends at once, and the worker learns it at
// its next heartbeat or progress report (both say whether the run is still running) and stops.
import type { SqlRunner } from "../db/sql-runner";
import { claimRun, endRun, failStaleRuns, heartbeatRuns, recordRunProgress, reopenRun, type RunTableSql } from "./queries";

export const TRACKED_TABLES = {
  backup: {
    table: "backups",
    heartbeat: "heartbeat_at",
    startedAt: true,
    success: "succeeded",
    progressColumns: [
      "phase", "rows_total", "rows_done", "objects_total", "objects_uploaded", "bytes_total", "bytes_uploaded",
      "snapshot_id", "snapshots_deleted", "objects_swept",
    ],
  },
  import: {
    table: "import_jobs",
    heartbeat: "updated_at",
    startedAt: true,
    success: "succeeded",
    stoppable: true,
    progressColumns: ["phase", "error", "model_calls", "retries", "max_model_calls", "max_retries", "max_runtime_seconds"],
  },
  // Evaluation runs have no heartbeat: pg-boss retries a job whose worker died, and the retry resumes.
  evaluation: {
    table: "evaluation_runs",
    heartbeat: null,
    startedAt: true,
    success: "completed",
    stoppable: true,
    progressColumns: [
      "avg_hallucination", "avg_faithfulness", "avg_answer_relevance", "avg_context_recall", "retrieval_hit_rate", "error_count",
      "model_calls", "retries", "max_model_calls", "max_retries", "max_runtime_seconds",
    ],
  },
  rewrap: { table: "cubby_rewraps", heartbeat: "heartbeat_at", startedAt: true, success: "succeeded", progressColumns: ["to_version", "items_total", "items_done", "rewrapped"] },
  schedule: { table: "schedule_runs", heartbeat: "heartbeat_at", startedAt: false, success: "succeeded", stoppable: true, progressColumns: ["result_kind", "result_id"] },
} as const satisfies Record<string, RunTableSql & { success: string; stoppable?: true }>;

export type TrackedKind = keyof typeof TRACKED_TABLES;
type Column<K extends TrackedKind> = (typeof TRACKED_TABLES)[K]["progressColumns"][number];
type Fields<K extends TrackedKind> = Partial<Record<Column<K>, string | number | null>>;

/** A run still queued or running has not ended. */
const LIVE = ["queued", "running"] as const;

export interface TrackedRuns<K extends TrackedKind> {
  /**
   * queued → running, once: false when another worker claimed it or it has ended. `resume: true` also
   * takes a run already 'running' (a queue retry after the worker died continues where it stopped).
   */
  claim(sql: SqlRunner, id: string, opts?: { resume?: boolean; set?: Fields<K> }): Promise<boolean>;
  /** Refreshes the heartbeat of these runs; returns the ids still running (the others were cancelled or failed). */
  heartbeat(sql: SqlRunner, ids: string[]): Promise<string[]>;
  /** Progress columns and the heartbeat; false when the run is no longer running (stop working on it). */
  progress(sql: SqlRunner, id: string, fields: Fields<K>): Promise<boolean>;
  /** The run succeeded; false when it had ended already. */
  succeed(sql: SqlRunner, id: string, fields?: Fields<K>, note?: string | null): Promise<boolean>;
  /** The run failed, with a message naming the cause; false when it had ended already. */
  fail(sql: SqlRunner, id: string, error: string, fields?: Fields<K>): Promise<boolean>;
  /** Ends a queued or running run as failed with "Cancelled: <reason>"; false when it had ended already. */
  cancel(sql: SqlRunner, id: string, reason: string): Promise<boolean>;
  /**
   * Ends a queued or running run as 'stopped' with "stopped: limit reached (…)" (lib/usage/run-limits.ts):
   * not a failure, and resumable with `reopen`. Only for kinds whose table has the status (stoppable).
   */
  stop(sql: SqlRunner, id: string, message: string, fields?: Fields<K>): Promise<boolean>;
  /** stopped → queued, once, for a resume; `set` applies progress columns (counters starting again, new limits). */
  reopen(sql: SqlRunner, id: string, set?: Fields<K>): Promise<boolean>;
  /** Fails runs in `status` whose heartbeat (running) or creation (queued) is older than `olderThanMs`. */
  failStale(sql: SqlRunner, opts: { status: "running" | "queued"; olderThanMs: number; error: string; fields?: Fields<K> }): Promise<string[]>;
}

export function trackedRuns<K extends TrackedKind>(kind: K): TrackedRuns<K> {
  const t = TRACKED_TABLES[kind];
  const from = (statuses: readonly string[]) => statuses;
  return {
    claim: (sql, id, opts = {}) => claimRun(sql, t, id, opts.resume ? LIVE : ["queued"], opts.set ?? {}),
    heartbeat: (sql, ids) => heartbeatRuns(sql, t, ids),
    progress: (sql, id, fields) => recordRunProgress(sql, t, id, fields),
    succeed: (sql, id, fields, note = null) => endRun(sql, t, id, { status: t.success, error: note, from: from(["running"]), fields }),
    fail: (sql, id, error, fields) => endRun(sql, t, id, { status: "failed", error: error.slice(0, 2000), from: from(LIVE), fields }),
    stop: (sql, id, message, fields) => {
      if (!("stoppable" in t)) throw new Error(`${t.table} runs cannot be stopped`);
      return endRun(sql, t, id, { status: "stopped", error: message.slice(0, 2000), from: from(LIVE), fields });
    },
    reopen: (sql, id, set) => {
      if (!("stoppable" in t)) throw new Error(`${t.table} runs cannot be resumed`);
      return reopenRun(sql, t, id, set ?? {});
    },
    cancel: (sql, id, reason) => endRun(sql, t, id, { status: "failed", error: `Cancelled: ${reason}`.slice(0, 2000), from: from(LIVE) }),
    failStale: (sql, opts) =>
      failStaleRuns(sql, t, { status: opts.status, since: opts.status === "running" ? "heartbeat" : "created_at", olderThanMs: opts.olderThanMs, error: opts.error, fields: opts.fields }),
  };
}
