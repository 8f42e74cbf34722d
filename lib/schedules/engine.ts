// The scheduler's engine: claiming due schedules, starting runs (scheduled and manual through the same
// function), watching runs whose work continues elsewhere, and failing runs whose process died.
//
// Safety with several scheduler processes (on one or several machines):
// - Every transaction that STARTS a run first takes one transaction-scoped advisory lock. Starting is a
//   few milliseconds of work, so serialising it costs nothing, and it makes the "runs in progress"
//   counts read inside the transaction exact: the global and per-schedule limits cannot be overshot
//   by two processes counting at the same moment (READ COMMITTED alone would allow that). A poll that
//   finds the lock taken skips its turn (another process is claiming); a manual start waits for it.
// - Due schedules are selected `FOR UPDATE SKIP LOCKED`, so a schedule being edited (row locked by a
//   PATCH) is skipped this round instead of blocking the claim.
// - The run row is inserted and `next_run_at` moved forward in the same transaction; a unique index on
//   (schedule_id, due_at) makes a second run for the same due time impossible even if all else failed.
// - Each process refreshes `heartbeat_at` of the runs it is executing; a run whose heartbeat is older
//   than SCHEDULER_DEAD_RUN_SECONDS lost its process and is marked failed by any other (or the restarted)
//   process. The schedule itself was already moved forward, so it goes on.
import { hostname } from "node:os";
import { accessContextFor, can, principalOfUser, type AccessContext } from "../access/context";
import { getConfig } from "../config";
import type { Db } from "../db/client";
import type { SqlRunner } from "../db/sql-runner";
import { ConflictError, NotFoundError } from "../errors";
import { log } from "../log";
import {
  advanceSchedules,
  failDeadScheduleRuns,
  handedOffRuns,
  insertManualRun,
  insertScheduledRuns,
  lockDueSchedules,
  lockSchedule,
  nowAndRunning,
  runningCounts,
  tryStartLock,
  waitForStartLock,
} from "./queries";
import { trackedRuns } from "../jobs/tracked-run";
import { nextRunAfter } from "./rules";
import { errorSummary, getTargetKind, getTargetKindForResult, type ScheduleLimits, type ScheduleRunTrigger, type TargetKind, type TargetOutcome } from "./targets";
import { effectiveLimits, isRunLimitReached, RunLimiter } from "../usage/run-limits";
import { usageScopeFor, withUsage } from "../usage/scope";

export interface ClaimedRun {
  runId: string;
  scheduleId: string;
  scheduleName: string;
  targetKind: string;
  targetConfig: unknown;
  trigger: ScheduleRunTrigger;
  dueAt: Date | null;
  /** The user whose access the run has (null: the schedule's user was deleted; the run fails). */
  runAsUserId: string | null;
  /** The schedule's own run limits when the run was claimed (null: the RUN_MAX_* setting). */
  limits: ScheduleLimits;
}

const limitsOf = (s: { max_model_calls: number | null; max_retries: number | null; max_runtime_seconds: number | null }): ScheduleLimits => ({
  maxModelCalls: s.max_model_calls,
  maxRetries: s.max_retries,
  maxRuntimeSeconds: s.max_runtime_seconds,
});

export interface EngineOptions {
  /** host:pid, recorded on the runs this process starts. */
  owner: string;
  globalLimit: number;
  batchSize: number;
  deadRunSeconds: number;
}

export function defaultEngineOptions(overrides: Partial<EngineOptions> = {}): EngineOptions {
  const c = getConfig();
  return {
    owner: `${hostname()}:${process.pid}`,
    globalLimit: c.SCHEDULER_MAX_CONCURRENT_RUNS,
    batchSize: c.SCHEDULER_BATCH_SIZE,
    deadRunSeconds: c.SCHEDULER_DEAD_RUN_SECONDS,
    ...overrides,
  };
}

/**
 * Runs `fn` in a transaction holding the start lock. `wait: false` gives up at once (returns null) when
 * another process holds it: that process is claiming right now, and this one's next poll comes soon —
 * better than queueing connections behind the lock.
 */
async function withStartLock<T>(db: Db, fn: (tx: SqlRunner) => Promise<T>, opts: { wait: false }): Promise<T | null>;
async function withStartLock<T>(db: Db, fn: (tx: SqlRunner) => Promise<T>, opts?: { wait: true }): Promise<T>;
async function withStartLock<T>(db: Db, fn: (tx: SqlRunner) => Promise<T>, opts: { wait: boolean } = { wait: true }): Promise<T | null> {
  return db.sql.transaction(async (tx) => {
    if (opts.wait) await waitForStartLock(tx);
    else if (!(await tryStartLock(tx))) return null;
    return fn(tx);
  });
}

/** Claims up to a batch of due schedules within the limits; each claim is one new run row. */
export async function claimDueRuns(db: Db, opts: EngineOptions): Promise<ClaimedRun[]> {
  const result = await withStartLock(db, async (tx) => {
    const { now, running } = await nowAndRunning(tx);
    const free = Math.min(opts.globalLimit - running, opts.batchSize);
    if (free <= 0) return [];
    const due = await lockDueSchedules(tx, free);
    if (due.length === 0) return [];
    // Missed due times (scheduler down, limits full) collapse into this one run: no catch-up storm.
    const nexts = due.map((s) =>
      nextRunAfter(
        { intervalMinutes: s.interval_minutes, cron: s.cron, timeZone: s.time_zone, anchorAt: s.anchor_at },
        now > s.next_run_at ? now : s.next_run_at,
      ),
    );
    // One statement each for all claimed rows: a claim costs a handful of round trips, not two per schedule.
    const ids = due.map((s) => s.id);
    const inserted = await insertScheduledRuns(tx, ids, due.map((s) => s.next_run_at), opts.owner);
    await advanceSchedules(tx, ids, nexts);
    const runBySchedule = new Map(inserted.map((r) => [r.schedule_id, r.id]));
    const claimed: ClaimedRun[] = [];
    for (const s of due) {
      const runId = runBySchedule.get(s.id);
      if (!runId) continue; // a run for this due time exists already (the unique index said so)
      claimed.push({
        runId,
        scheduleId: s.id,
        scheduleName: s.name,
        targetKind: s.target_kind,
        targetConfig: s.target_config,
        trigger: "schedule",
        dueAt: s.next_run_at,
        runAsUserId: s.run_as_user_id,
        limits: limitsOf(s),
      });
    }
    return claimed;
  }, { wait: false });
  return result ?? [];
}

/** A manual start: the same lock, the same limits, the same run row (trigger "manual", no due time). */
export async function claimManualRun(db: Db, scheduleId: string, opts: EngineOptions): Promise<ClaimedRun> {
  return withStartLock(db, async (tx) => {
    const s = await lockSchedule(tx, scheduleId);
    if (!s) throw new NotFoundError("Schedule");
    const { running, mine } = await runningCounts(tx, scheduleId);
    if (mine >= s.max_concurrent) {
      throw new ConflictError(
        `This schedule already has ${mine} run${mine === 1 ? "" : "s"} in progress (its limit is ${s.max_concurrent}); try again when one finishes.`,
        { limit: "maxConcurrent", running: mine },
      );
    }
    if (running >= opts.globalLimit) {
      throw new ConflictError(
        `The scheduler already has ${running} runs in progress (the global limit, SCHEDULER_MAX_CONCURRENT_RUNS, is ${opts.globalLimit}); try again when one finishes.`,
        { limit: "global", running },
      );
    }
    const runId = await insertManualRun(tx, scheduleId, opts.owner);
    return {
      runId,
      scheduleId,
      scheduleName: s.name,
      targetKind: s.target_kind,
      targetConfig: s.target_config,
      trigger: "manual",
      dueAt: null,
      runAsUserId: s.run_as_user_id,
      limits: limitsOf(s),
    };
  });
}

/**
 * The access of the user a schedule runs as, read now; or why the run cannot go ahead (no user, a
 * disabled one, one whose role lacks what the target needs). There is no fallback principal.
 */
async function runAsContext(db: Db, run: ClaimedRun, kind: TargetKind<unknown>): Promise<AccessContext | string> {
  if (!run.runAsUserId) return "this schedule has no user to run as (that user was deleted); an admin must choose one";
  const user = await db.prisma.user.findUnique({ where: { id: run.runAsUserId }, select: { id: true, email: true, role: true, disabledAt: true } });
  const principal = user ? principalOfUser(user) : null;
  if (!user || !principal) return `${user?.email ?? "the user this schedule runs as"} is ${user ? "disabled" : "deleted"}; an admin must choose another user to run it as`;
  const access = await accessContextFor(db, principal);
  if (kind.permission && !can(access, kind.permission)) {
    return `${user.email} (${user.role}), whom this schedule runs as, lacks the "${kind.permission}" permission this target needs`;
  }
  return access;
}

const runs = trackedRuns("schedule");

/** Records a schedule run's end (a run already failed by the reaper, or ended by another watcher, stays). */
async function endScheduleRun(db: Db, runId: string, outcome: { state: "succeeded" | "failed" | "stopped"; error?: string; resultKind?: string; resultId?: string }) {
  const result = {
    ...(outcome.resultKind !== undefined ? { result_kind: outcome.resultKind } : {}),
    ...(outcome.resultId !== undefined ? { result_id: outcome.resultId } : {}),
  };
  if (outcome.state === "succeeded") await runs.succeed(db.sql, runId, result);
  // The work it started reached a run limit: stopped, with the reason, and resumable where it runs.
  else if (outcome.state === "stopped") await runs.stop(db.sql, runId, outcome.error ?? "stopped: limit reached", result);
  else await runs.fail(db.sql, runId, outcome.error ?? "failed", result);
}

/**
 * Executes claimed runs in this process and keeps their heartbeats fresh. One per process (see
 * getExecutor), shared by the poll loop and by manual starts from the web process.
 */
export class RunExecutor {
  private inflight = new Map<string, { ac: AbortController; done: Promise<void> }>();
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly db: Db,
    private readonly heartbeatMs: number,
  ) {}

  get inflightIds(): string[] {
    return [...this.inflight.keys()];
  }

  /** Starts the run's work; resolves when the work has been handed off or has finished. */
  execute(run: ClaimedRun): Promise<void> {
    const ac = new AbortController();
    const done = this.perform(run, ac.signal).finally(() => {
      this.inflight.delete(run.runId);
      if (this.inflight.size === 0) this.stopTimer();
    });
    this.inflight.set(run.runId, { ac, done });
    this.startTimer();
    return done;
  }

  /** Gives up in-process work (the runs are recorded as failed) — used when the process stops. */
  abort(runIds?: string[]): void {
    for (const [id, { ac }] of this.inflight) if (!runIds || runIds.includes(id)) ac.abort();
  }

  async drain(): Promise<void> {
    await Promise.allSettled([...this.inflight.values()].map((r) => r.done));
  }

  private async perform(run: ClaimedRun, signal: AbortSignal): Promise<void> {
    const kind = getTargetKind(run.targetKind);
    // The run's own work (what a target does in this process) is metered for the schedule and held to
    // its limits; work handed off (an evaluation run, an import) takes the same limits as its own.
    const limiter = new RunLimiter(effectiveLimits(run.limits));
    let outcome: TargetOutcome;
    try {
      const access = kind ? await runAsContext(this.db, run, kind) : null;
      if (!kind) {
        outcome = { state: "failed", error: `target kind "${run.targetKind}" is not available in this version` };
      } else if (typeof access === "string") {
        outcome = { state: "failed", error: access };
      } else {
        const config = kind.config.parse(run.targetConfig);
        const scope = usageScopeFor(access!, { scheduleId: run.scheduleId, limiter });
        outcome = await withUsage(scope, () =>
          kind.start(config, {
            db: this.db,
            scheduleId: run.scheduleId,
            scheduleName: run.scheduleName,
            runId: run.runId,
            trigger: run.trigger,
            dueAt: run.dueAt,
            access: access!,
            limits: run.limits,
            signal,
          }),
        );
      }
    } catch (err) {
      outcome = isRunLimitReached(err) ? { state: "stopped", error: err.message } : { state: "failed", error: errorSummary(err) };
    }
    // A limit reached inside the work, even when the work carried on to an end of its own, is what the run says.
    if (limiter.reached && outcome.state !== "started") outcome = { ...outcome, state: "stopped", error: limiter.stopMessage! };
    if (signal.aborted && outcome.state === "failed") {
      outcome = { ...outcome, error: "the scheduler stopped (or the run timed out) while the run was in progress" };
    }
    try {
      if (outcome.state === "started") {
        await runs.progress(this.db.sql, run.runId, { result_kind: outcome.resultKind, result_id: outcome.resultId });
      } else {
        await endScheduleRun(this.db, run.runId, outcome);
      }
      log("info", "schedule run " + (outcome.state === "started" ? "handed off" : outcome.state), {
        scheduleId: run.scheduleId,
        runId: run.runId,
        trigger: run.trigger,
      });
    } catch (err) {
      // The database is gone; the run will be failed by the dead-run check once it is back.
      log("error", "could not record a schedule run's outcome", { runId: run.runId, error: errorSummary(err) });
    }
  }

  async heartbeat(): Promise<void> {
    const ids = this.inflightIds;
    if (ids.length === 0) return;
    await runs.heartbeat(this.db.sql, ids);
  }

  private startTimer() {
    if (this.timer) return;
    this.timer = setInterval(() => {
      this.heartbeat().catch((err) => log("warn", "schedule heartbeat failed", { error: errorSummary(err) }));
    }, this.heartbeatMs);
    this.timer.unref();
  }

  private stopTimer() {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}

const EXECUTOR = Symbol.for("sot.schedules.executor");
type Holder = typeof globalThis & { [EXECUTOR]?: { db: Db; executor: RunExecutor } };

/** The process's executor (Next.js may load this module more than once; there must be one heartbeat). */
export function getExecutor(db: Db, deadRunSeconds = getConfig().SCHEDULER_DEAD_RUN_SECONDS): RunExecutor {
  const g = globalThis as Holder;
  if (!g[EXECUTOR] || g[EXECUTOR].db !== db) {
    // Three heartbeats per dead-run period: one late beat never gets a live run failed.
    g[EXECUTOR] = { db, executor: new RunExecutor(db, Math.max(200, Math.floor((deadRunSeconds * 1000) / 3))) };
  }
  return g[EXECUTOR].executor;
}

/** Checks runs whose work continues elsewhere (an evaluation run in the queue...) and records their end. */
export async function syncHandedOffRuns(db: Db, limit = 100): Promise<number> {
  const rows = await handedOffRuns(db.sql, limit);
  let finished = 0;
  for (const r of rows) {
    // By what the run produced, not the schedule's current target: the schedule may have been edited since.
    const kind = getTargetKindForResult(r.result_kind) ?? getTargetKind(r.target_kind);
    try {
      if (!kind?.status) {
        await endScheduleRun(db, r.id, { state: "failed", error: `nothing can report the status of a ${r.result_kind}` });
        finished++;
        continue;
      }
      const st = await kind.status(r.result_id, db);
      if (st.state === "running") {
        await runs.heartbeat(db.sql, [r.id]);
      } else {
        await endScheduleRun(db, r.id, { state: st.state, error: st.error });
        finished++;
      }
    } catch (err) {
      log("warn", "could not check a schedule run's status", { runId: r.id, error: errorSummary(err) });
    }
  }
  return finished;
}

/** Fails runs whose process stopped sending heartbeats, and runs past their schedule's timeout. */
export async function failDeadRuns(db: Db, deadRunSeconds: number): Promise<string[]> {
  const ids = await failDeadScheduleRuns(db.sql, deadRunSeconds);
  if (ids.length > 0) log("warn", "schedule runs failed as dead or timed out", { runIds: ids });
  return ids;
}
