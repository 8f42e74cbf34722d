// The writer (group commit): settlements, ledger rows and every release of a reservation or a lease queue per
// database handle; one statement at a time per handle writes everything queued so far, so under load many
// calls share one statement, one lock of each budget row and one commit, and when idle a call's row is written
// at once. It is the only way `reserved` goes down: one queue per handle keeps a lease's settlements ahead of
// its return, which is what lets the lease's bookkeeping in memory (lease.ts) stay exact.
//
// Under steady traffic a handle starts at most one statement per USAGE_WRITE_WINDOW_MS (default 1,000). The
// statement takes about as long whatever it carries (alone on one connection: 0.39 ms with one answer's rows,
// 0.41 ms with eight answers', 0.75 ms with 32), and so does the web process's work to send it and read its
// reply, so that cost is shared by every call of the window instead of being paid about once per answer, which
// at 8 askers on 2 cores was most of what the guardrails added (docs/benchmarks.md, "Guardrails": 50, 200 and
// 1,000 ms compared). What waits is bookkeeping: a settlement on a lease moves the call's cost from the budget's
// `reserved` to its `used`, which leaves its room as it was. A release that frees room does not wait
// (`enqueue(…, { freesRoom: true })`): near its limit a budget is reserved on per call, and a finished call's
// reservation held for the window would refuse callers the budget has room for. A call after a quiet spell is
// written at once; flushUsage() cuts a wait short.
import { getConfig } from "../config";
import type { Db } from "../db/client";
import { log } from "../log";
import { notify } from "../notify";
import { settleBatch, type SettledBudget, type Settlement } from "./queries";

interface Writer {
  queue: Settlement[];
  running: Promise<void> | null;
  /** When the last statement started (performance.now()). */
  lastStart: number;
  /** Ends the current wait for the window at once (flushUsage, a release that frees room). */
  hurry: (() => void) | null;
  /** What is queued frees room on a budget: the next statement does not wait for the window. */
  freesRoom: boolean;
}

const WRITERS = Symbol.for("sot.usageWriters");
type WriterHolder = typeof globalThis & { [WRITERS]?: Map<Db, Writer> };
const writers = () => ((globalThis as WriterHolder)[WRITERS] ??= new Map());

/** What each settled budget looked like afterwards (lease.ts learns of a new window from it). */
type Observer = (db: Db, settled: SettledBudget[]) => void;
const observers: Observer[] = [];
export function onSettled(o: Observer): void {
  observers.push(o);
}

export function enqueue(db: Db, item: Settlement, opts: { freesRoom?: boolean } = {}): void {
  let w = writers().get(db);
  if (!w) writers().set(db, (w = { queue: [], running: null, lastStart: -Infinity, hurry: null, freesRoom: false }));
  w.queue.push(item);
  if (opts.freesRoom) {
    w.freesRoom = true;
    w.hurry?.();
  }
  if (!w.running) w.running = drain(db, w);
}

/** The writers' statements still running or waiting for their window (flushUsage waits for them). */
export function runningWrites(opts: { hurry?: boolean } = {}): Promise<void>[] {
  const all = [...writers().values()];
  if (opts.hurry) for (const w of all) w.hurry?.();
  return all.map((w) => w.running).filter((p): p is Promise<void> => p !== null);
}

/** Until the window after the last statement's start has passed, or until hurried; at least one turn of the event loop. */
function waitForWindow(w: Writer): Promise<void> {
  const wait = w.lastStart + getConfig().USAGE_WRITE_WINDOW_MS - performance.now();
  // The calls finishing in this turn of the event loop join the statement in any case.
  if (wait <= 0 || w.freesRoom) return new Promise((resolve) => setImmediate(resolve));
  return new Promise<void>((resolve) => {
    const done = () => {
      clearTimeout(timer);
      w.hurry = null;
      resolve();
    };
    const timer = setTimeout(done, wait);
    w.hurry = done;
  });
}

async function drain(db: Db, w: Writer): Promise<void> {
  while (w.queue.length > 0) {
    await waitForWindow(w);
    w.lastStart = performance.now();
    const batch = w.queue.splice(0, 500);
    if (w.queue.length === 0) w.freesRoom = false;
    try {
      settled(db, await retryOnConflict(() => settleBatch(db.sql, batch)));
    } catch (err) {
      // One bad row (a principal deleted meanwhile) must not take the others with it: write them one by one.
      for (const item of batch.length > 1 ? batch : []) {
        try {
          settled(db, await retryOnConflict(() => settleBatch(db.sql, [item])));
        } catch (one) {
          logLost(item, one as Error);
        }
      }
      if (batch.length === 1) logLost(batch[0]!, err as Error);
    }
  }
  w.running = null;
}

function settled(db: Db, rows: SettledBudget[]): void {
  notifyCrossings(db, rows);
  for (const o of observers) o(db, rows);
}

/**
 * A settlement that carried a budget past its budget-mode threshold, or past its limit, tells the
 * notification targets (counts only). The settlement that crosses is the only one that sees both sides of
 * the line, so each crossing is reported once per window.
 */
function notifyCrossings(db: Db, settled: SettledBudget[]): void {
  for (const b of settled) {
    const limit = Number(b.limit_value);
    const before = Number(b.used_before);
    const after = Number(b.used_after);
    const threshold = limit * Number(b.mode_threshold);
    const state = before < limit && after >= limit ? "exhausted" : before < threshold && after >= threshold ? "entered" : null;
    if (!state) continue;
    const unit = b.metric === "tokens" ? "tokens" : "gpu_seconds";
    void notify({ kind: "budget.mode", budget: b.id, state, used: after, limit, unit }, { db });
  }
}

// The answer was given; a lost ledger row must not turn it into an error.
function logLost(item: Settlement, err: Error): void {
  if (item.entry) log("error", "usage ledger write failed", { model: item.entry.model, op: item.entry.op, error: err.message });
  else log("error", "budget release failed", { error: err.message });
}

/** A deadlock or serialization failure is retried (twice): losing a settlement would leave its reservation held. */
export async function retryOnConflict<T>(fn: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (attempt >= 2 || (code !== "40P01" && code !== "40001")) throw err;
    }
  }
}
