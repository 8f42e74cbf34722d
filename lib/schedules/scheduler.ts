// The poll loop: every SCHEDULER_POLL_MS, check handed-off runs, fail dead ones, expire approval requests,
// claim and start due schedules. Runs in workers/scheduler.ts (PostgreSQL) or inside the web process (embedded default);
// any number of these loops may run against one database.
import { setTimeout as sleep } from "node:timers/promises";
import { getConfig } from "../config";
import type { Db } from "../db/client";
import { expireApprovals, resumeApprovedActions } from "../approvals/service";
import { log } from "../log";
import { closeBudgetWindows } from "../usage/budgets";
import { claimDueRuns, defaultEngineOptions, failDeadRuns, getExecutor, syncHandedOffRuns, type EngineOptions } from "./engine";
import { errorSummary } from "./targets";

export interface StartSchedulerOptions {
  db: Db;
  /** Abort to stop: polling ends, in-process work is given up and recorded as failed. */
  signal: AbortSignal;
  pollMs?: number;
  engine?: Partial<EngineOptions>;
}

export interface SchedulerHandle {
  /** Resolves once the loop has stopped and in-process runs have been recorded. */
  stopped: Promise<void>;
}

export function startScheduler({ db, signal, pollMs, engine }: StartSchedulerOptions): SchedulerHandle {
  const opts = defaultEngineOptions(engine);
  const interval = pollMs ?? getConfig().SCHEDULER_POLL_MS;
  const executor = getExecutor(db, opts.deadRunSeconds);

  async function tick() {
    // Order matters: refresh handed-off runs first, so a restarted process does not fail runs whose
    // work is alive elsewhere just because nobody looked at them while it was down.
    await syncHandedOffRuns(db);
    const dead = await failDeadRuns(db, opts.deadRunSeconds);
    if (dead.length > 0) executor.abort(dead); // our own runs past their timeout: stop their work too
    // Budget windows that ended start their next one (exactly once across scheduler processes).
    const closed = await closeBudgetWindows(db);
    if (closed > 0) log("info", "budget windows closed", { count: closed });
    // Approval requests past their expiry: each expires once, whichever process's UPDATE gets it.
    await expireApprovals(db);
    // Approved actions whose job was lost (the queue was down at the time) are carried out here, once.
    await resumeApprovedActions(db);
    const claimed = await claimDueRuns(db, opts);
    for (const run of claimed) {
      log("info", "schedule run claimed", { scheduleId: run.scheduleId, runId: run.runId, dueAt: run.dueAt?.toISOString() });
      void executor.execute(run);
    }
  }

  const stopped = (async () => {
    log("info", "scheduler started", { owner: opts.owner, pollMs: interval, globalLimit: opts.globalLimit });
    while (!signal.aborted) {
      try {
        await tick();
      } catch (err) {
        // A database outage must not end the loop; the next poll tries again.
        log("error", "scheduler poll failed", { error: errorSummary(err) });
      }
      await sleep(interval, undefined, { signal }).catch(() => {});
    }
    executor.abort();
    await executor.drain();
    log("info", "scheduler stopped", { owner: opts.owner });
  })();

  return { stopped };
}
