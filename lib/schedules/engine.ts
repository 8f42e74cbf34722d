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
import { ConflictError, NotFoundError } from "../errors";
import { log } from "../log";
import { nextRunAfter } from "./rules";
import { errorSummary, getTargetKind, getTargetKindForResult, type RunTrigger, type TargetKind, type TargetOutcome } from "./targets";

type Tx = Parameters<Parameters<Db["prisma"]["$transaction"]>[0]>[0];

/** Key of the advisory lock around run starts ("SOT" scheduler). */
const START_LOCK_KEY = 6_040_001;

export interface ClaimedRun {
  runId: string;
  scheduleId: string;
  scheduleName: string;
  targetKind: string;
  targetConfig: unknown;
  trigger: RunTrigger;
  dueAt: Date | null;
  /** The user whose access the run has (null: the schedule's user was deleted; the run fails). */
  runAsUserId: string | null;
}

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
async function withStartLock<T>(db: Db, fn: (tx: Tx) => Promise<T>, opts: { wait: false }): Promise<T | null>;
async function withStartLock<T>(db: Db, fn: (tx: Tx) => Promise<T>, opts?: { wait: true }): Promise<T>;
async function withStartLock<T>(db: Db, fn: (tx: Tx) => Promise<T>, opts: { wait: boolean } = { wait: true }): Promise<T | null> {
  return db.prisma.$transaction(
    async (tx) => {
      if (opts.wait) {
        await tx.$executeRawUnsafe(`SELECT pg_advisory_xact_lock(${START_LOCK_KEY})`);
      } else {
        const [{ got }] = await tx.$queryRawUnsafe<Array<{ got: boolean }>>(`SELECT pg_try_advisory_xact_lock(${START_LOCK_KEY}) AS got`);
        if (!got) return null;
      }
      return fn(tx);
    },
    { maxWait: 20_000, timeout: 60_000 },
  );
}

interface DueRow {
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
}

/** Claims up to a batch of due schedules within the limits; each claim is one new run row. */
export async function claimDueRuns(db: Db, opts: EngineOptions): Promise<ClaimedRun[]> {
  const result = await withStartLock(db, async (tx) => {
    const [{ now, running }] = await tx.$queryRaw<Array<{ now: Date; running: number }>>`
      SELECT now() AS now, (SELECT count(*)::int FROM schedule_runs WHERE status = 'running') AS running`;
    const free = Math.min(opts.globalLimit - running, opts.batchSize);
    if (free <= 0) return [];
    const due = await tx.$queryRaw<DueRow[]>`
      SELECT s.id, s.name, s.target_kind, s.target_config, s.interval_minutes, s.cron, s.time_zone, s.anchor_at, s.next_run_at, s.run_as_user_id
      FROM schedules s
      WHERE s.enabled AND s.next_run_at <= now()
        AND (SELECT count(*) FROM schedule_runs r WHERE r.schedule_id = s.id AND r.status = 'running') < s.max_concurrent
      ORDER BY s.next_run_at, s.id
      LIMIT ${free}
      FOR UPDATE OF s SKIP LOCKED`;
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
    const inserted = await tx.$queryRaw<Array<{ id: string; schedule_id: string }>>`
      INSERT INTO schedule_runs (schedule_id, trigger, status, due_at, claimed_by)
      SELECT d.id, 'schedule', 'running', d.due_at, ${opts.owner}
      FROM unnest(${ids}::uuid[], ${due.map((s) => s.next_run_at)}::timestamptz[]) AS d(id, due_at)
      ON CONFLICT (schedule_id, due_at) DO NOTHING
      RETURNING id, schedule_id`;
    await tx.$executeRaw`
      UPDATE schedules s SET next_run_at = d.next_run_at, last_run_at = now(), updated_at = now()
      FROM unnest(${ids}::uuid[], ${nexts}::timestamptz[]) AS d(id, next_run_at)
      WHERE s.id = d.id`;
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
      });
    }
    return claimed;
  }, { wait: false });
  return result ?? [];
}

/** A manual start: the same lock, the same limits, the same run row (trigger "manual", no due time). */
export async function claimManualRun(db: Db, scheduleId: string, opts: EngineOptions): Promise<ClaimedRun> {
  return withStartLock(db, async (tx) => {
    const rows = await tx.$queryRaw<Array<DueRow & { max_concurrent: number }>>`
      SELECT id, name, target_kind, target_config, max_concurrent, run_as_user_id FROM schedules WHERE id = ${scheduleId}::uuid FOR UPDATE`;
    if (rows.length === 0) throw new NotFoundError("Schedule");
    const s = rows[0];
    const [{ running, mine }] = await tx.$queryRaw<Array<{ running: number; mine: number }>>`
      SELECT count(*)::int AS running, count(*) FILTER (WHERE schedule_id = ${scheduleId}::uuid)::int AS mine
      FROM schedule_runs WHERE status = 'running'`;
    if (mine >= s.max_concurrent) {
      throw new ConflictError(
        `This schedule already has ${mine} run${mine === 1 ? "" : "s"} in progress (its limit is ${s.max_concurrent}); try again when one finishes.`,
        { limit: "max_concurrent", running: mine },
      );
    }
    if (running >= opts.globalLimit) {
      throw new ConflictError(
        `The scheduler already has ${running} runs in progress (the global limit, SCHEDULER_MAX_CONCURRENT_RUNS, is ${opts.globalLimit}); try again when one finishes.`,
        { limit: "global", running },
      );
    }
    const [run] = await tx.$queryRaw<Array<{ id: string }>>`
      INSERT INTO schedule_runs (schedule_id, trigger, status, due_at, claimed_by)
      VALUES (${scheduleId}::uuid, 'manual', 'running', NULL, ${opts.owner})
      RETURNING id`;
    await tx.$executeRaw`UPDATE schedules SET last_run_at = now(), updated_at = now() WHERE id = ${scheduleId}::uuid`;
    return {
      runId: run.id,
      scheduleId,
      scheduleName: s.name,
      targetKind: s.target_kind,
      targetConfig: s.target_config,
      trigger: "manual",
      dueAt: null,
      runAsUserId: s.run_as_user_id,
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

async function finishRun(db: Db, runId: string, outcome: { state: "succeeded" | "failed"; error?: string; resultKind?: string; resultId?: string }) {
  // `status = 'running'` guard: a run already failed by the reaper (or finished by another watcher) stays as it is.
  await db.prisma.$executeRaw`
    UPDATE schedule_runs
    SET status = ${outcome.state}, finished_at = now(), heartbeat_at = now(),
        error = ${outcome.state === "failed" ? (outcome.error ?? "failed") : null},
        result_kind = COALESCE(${outcome.resultKind ?? null}, result_kind),
        result_id = COALESCE(${outcome.resultId ?? null}, result_id)
    WHERE id = ${runId}::uuid AND status = 'running'`;
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
    let outcome: TargetOutcome;
    try {
      const access = kind ? await runAsContext(this.db, run, kind) : null;
      if (!kind) {
        outcome = { state: "failed", error: `target kind "${run.targetKind}" is not available in this version` };
      } else if (typeof access === "string") {
        outcome = { state: "failed", error: access };
      } else {
        const config = kind.config.parse(run.targetConfig);
        outcome = await kind.start(config, {
          db: this.db,
          scheduleId: run.scheduleId,
          scheduleName: run.scheduleName,
          runId: run.runId,
          trigger: run.trigger,
          dueAt: run.dueAt,
          access: access!,
          signal,
        });
      }
    } catch (err) {
      outcome = { state: "failed", error: errorSummary(err) };
    }
    if (signal.aborted && outcome.state === "failed") {
      outcome = { ...outcome, error: "the scheduler stopped (or the run timed out) while the run was in progress" };
    }
    try {
      if (outcome.state === "started") {
        await this.db.prisma.$executeRaw`
          UPDATE schedule_runs SET result_kind = ${outcome.resultKind}, result_id = ${outcome.resultId}, heartbeat_at = now()
          WHERE id = ${run.runId}::uuid AND status = 'running'`;
      } else {
        await finishRun(this.db, run.runId, outcome);
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
    await this.db.prisma.$executeRaw`
      UPDATE schedule_runs SET heartbeat_at = now() WHERE id = ANY(${ids}::uuid[]) AND status = 'running'`;
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
  const rows = await db.prisma.$queryRaw<Array<{ id: string; result_id: string; result_kind: string; target_kind: string }>>`
    SELECT r.id, r.result_id, r.result_kind, s.target_kind
    FROM schedule_runs r JOIN schedules s ON s.id = r.schedule_id
    WHERE r.status = 'running' AND r.result_id IS NOT NULL
    ORDER BY r.heartbeat_at
    LIMIT ${limit}`;
  let finished = 0;
  for (const r of rows) {
    // By what the run produced, not the schedule's current target: the schedule may have been edited since.
    const kind = getTargetKindForResult(r.result_kind) ?? getTargetKind(r.target_kind);
    try {
      if (!kind?.status) {
        await finishRun(db, r.id, { state: "failed", error: `nothing can report the status of a ${r.result_kind}` });
        finished++;
        continue;
      }
      const st = await kind.status(r.result_id, db);
      if (st.state === "running") {
        await db.prisma.$executeRaw`UPDATE schedule_runs SET heartbeat_at = now() WHERE id = ${r.id}::uuid AND status = 'running'`;
      } else {
        await finishRun(db, r.id, { state: st.state, error: st.error });
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
  const rows = await db.prisma.$queryRaw<Array<{ id: string }>>`
    UPDATE schedule_runs r
    SET status = 'failed', finished_at = now(),
        error = CASE WHEN r.heartbeat_at < now() - ${deadRunSeconds}::int * interval '1 second'
          THEN 'the process running it stopped (no heartbeat for ' || ${deadRunSeconds}::int || ' s)'
          ELSE 'timed out after ' || s.timeout_minutes || ' min' END
    FROM schedules s
    WHERE s.id = r.schedule_id AND r.status = 'running'
      AND (r.heartbeat_at < now() - ${deadRunSeconds}::int * interval '1 second'
           OR r.started_at < now() - s.timeout_minutes * interval '1 minute')
    RETURNING r.id`;
  if (rows.length > 0) log("warn", "schedule runs failed as dead or timed out", { runIds: rows.map((r) => r.id) });
  return rows.map((r) => r.id);
}
