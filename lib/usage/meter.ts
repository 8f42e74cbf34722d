// What the model client (lib/llm) does around every call: before it, the run's limits and an atomic
// reservation of the call's estimated cost on every budget that applies (BudgetExhaustedError when one is
// used up); after it, one statement that settles the reservation with the real cost and writes the ledger
// row, and the Prometheus counters, from the same figures. The hot path is two statements per call, or
// one when the work checked its budgets at the start and none applies.
import { openedDb, type Db } from "../db/client";
import { BudgetExhaustedError } from "../errors";
import { log } from "../log";
import { observeUsage } from "../metrics";
import { getConfig } from "../config";
import { budgetCheckOf, budgetName } from "./budget-check";
import type { BudgetCheck } from "./types";
import { notify } from "../notify";
import { releaseReservations, reserveBudgets, settleAndRecord, type LedgerEntry, type SettledBudget } from "./queries";
import { currentUsage, systemUsageScope, type UsageScope } from "./scope";

export type ModelOp = "chat" | "embed" | "judge" | "rewrite" | "rerank";

export interface CallEstimate {
  /** The most tokens the call can use (prompt estimate + its completion limit). */
  tokens: number;
  gpuSeconds: number;
}

export interface MeterTicket {
  scope: UsageScope;
  db: Db | undefined;
  op: ModelOp;
  /** What the settlement gives back of `reserved` (nothing for a call covered by its work's reservation). */
  estimate: CallEstimate;
  ids: string[];
  generations: number[];
}

// bench:guardrails measures the ask path with and without the guardrails, in one process, interleaved; it
// alone turns them off (nothing else may: budgets and the ledger must hold for every call).
const OFF = Symbol.for("sot.guardrailsOffForBenchmark");
type OffHolder = typeof globalThis & { [OFF]?: boolean };
export function setGuardrailsOffForBenchmark(off: boolean): void {
  (globalThis as OffHolder)[OFF] = off;
}
export const guardrailsOff = () => (globalThis as OffHolder)[OFF] === true;

/** Ollama's durations are nanoseconds. */
export const nsToSeconds = (ns: number | null | undefined) => (ns && ns > 0 ? ns / 1e9 : 0);

async function scopeAndDb(): Promise<{ scope: UsageScope; db: Db | undefined }> {
  const scope = currentUsage();
  if (scope) return { scope, db: scope.db };
  const db = await openedDb()?.catch(() => undefined);
  // A call outside any work that set a scope is the system's own.
  return { scope: systemUsageScope(db!), db };
}

/**
 * Before a model call: the run's limits (RunLimitReachedError), then the budgets' reservation
 * (BudgetExhaustedError naming the budget and when it resets). Returns the ticket `endModelCall` settles.
 */
export async function beginModelCall(model: string, op: ModelOp, estimate: CallEstimate): Promise<MeterTicket> {
  const started = performance.now();
  const { scope, db } = await scopeAndDb();
  if (guardrailsOff()) return { scope, db: undefined, op, estimate, ids: [], generations: [] };
  try {
    return await reserve(scope, db, model, op, estimate);
  } finally {
    if (scope.guardrailMs) scope.guardrailMs.value += performance.now() - started;
  }
}

async function reserve(scope: UsageScope, db: Db | undefined, model: string, op: ModelOp, estimate: CallEstimate): Promise<MeterTicket> {
  scope.limiter?.beforeCall();
  const ticket: MeterTicket = { scope, db, op, estimate, ids: [], generations: [] };
  // Work that checked its budgets when it started and found none skips the reservation; work that reserved
  // for itself settles on those budgets.
  if (!db || (scope.budgets && scope.budgets.states.length === 0)) return ticket;
  if (scope.prepaid) return { ...ticket, estimate: { tokens: 0, gpuSeconds: 0 }, ids: scope.prepaid.ids, generations: scope.prepaid.generations };
  const rows = await retryOnConflict(() => reserveBudgets(db.sql, scope, model, estimate));
  const refused = rows.filter((r) => !r.reserved_ok);
  const taken = rows.filter((r) => r.reserved_ok);
  if (refused.length > 0) {
    await releaseReservations(db.sql, taken.map((r) => r.id), estimate);
    const first = refused[0]!;
    throw new BudgetExhaustedError(budgetName(first, scope), new Date(first.window_end));
  }
  ticket.ids = taken.map((r) => r.id);
  ticket.generations = taken.map((r) => r.generation);
  return ticket;
}

/**
 * After a model call (or its failure): count it, and settle the budgets and write the ledger row in one
 * statement that runs off the caller's path (the answer does not wait for it; until it lands, the call's
 * reservation simply stays held a few milliseconds longer). `flushUsage()` waits for what is in flight.
 * Never throws.
 */
export async function endModelCall(ticket: MeterTicket, result: Omit<LedgerEntry, "op">, opts: { aborted?: boolean } = {}): Promise<void> {
  const entry: LedgerEntry = { ...result, op: ticket.op };
  // A call the work itself stopped is not a failed attempt.
  if (!entry.ok && !opts.aborted) ticket.scope.limiter?.failedAttempt();
  observeUsage(entry);
  const db = ticket.db;
  if (!db) return;
  inBackground(
    async () => notifyCrossings(db, await settleAndRecord(db.sql, ticket.scope, entry, { ids: ticket.ids, generations: ticket.generations, estimate: ticket.estimate })),
    // The answer was given; a lost ledger row must not turn it into an error.
    (err) => log("error", "usage ledger write failed", { model: entry.model, op: entry.op, error: err.message }),
  );
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

/** Runs a guardrail write off the caller's path (retried on a deadlock), tracked for flushUsage(). */
function inBackground(write: () => Promise<unknown>, onError: (err: Error) => void): void {
  const p: Promise<void> = retryOnConflict(write)
    .then(() => undefined, onError)
    .finally(() => inFlight().delete(p));
  inFlight().add(p);
}

/**
 * Reserves the most a piece of work can use (an ask: its rewrite, embedding and answer) on every budget
 * that applies, in one statement, when it starts: 429 (BudgetExhaustedError) when one is used up, and
 * whether it runs in budget mode. Its model calls then settle on those budgets without reserving again;
 * `release()` gives the reservation back when the work ends (off the caller's path).
 */
export async function reserveForWork(scope: UsageScope, estimate: CallEstimate): Promise<{ check: BudgetCheck; prepaid?: UsageScope["prepaid"]; release(): void }> {
  const rows = await retryOnConflict(() => reserveBudgets(scope.db.sql, scope, null, estimate));
  const taken = rows.filter((r) => r.reserved_ok);
  const refused = rows.find((r) => !r.reserved_ok);
  const release = () => {
    if (taken.length) inBackground(() => releaseReservations(scope.db.sql, taken.map((r) => r.id), estimate), (err) => log("error", "budget release failed", { error: err.message }));
  };
  if (refused) {
    release();
    throw new BudgetExhaustedError(budgetName(refused, scope), new Date(refused.window_end));
  }
  // The work's own reservation is not use: budget mode is decided without it.
  const own = (metric: string) => (metric === "tokens" ? estimate.tokens : estimate.gpuSeconds);
  const check = budgetCheckOf(rows.map((r) => ({ ...r, reserved: Math.max(0, Number(r.reserved) - own(r.metric)) })));
  return { check, prepaid: taken.length ? { ids: taken.map((r) => r.id), generations: taken.map((r) => r.generation) } : undefined, release };
}

/** What a call of `tokens` tokens at most reserves (GPU-seconds at BUDGET_ESTIMATE_GPU_SECONDS_PER_1K_TOKENS). */
export function estimateFor(tokens: number): CallEstimate {
  return { tokens, gpuSeconds: (tokens / 1000) * getConfig().BUDGET_ESTIMATE_GPU_SECONDS_PER_1K_TOKENS };
}

// Ledger writes not yet landed, per process.
const PENDING = Symbol.for("sot.usagePending");
type PendingHolder = typeof globalThis & { [PENDING]?: Set<Promise<void>> };
const inFlight = () => ((globalThis as PendingHolder)[PENDING] ??= new Set());

/** Waits until every ledger write this process started has landed (tests, shutdown, a run's end). */
export async function flushUsage(): Promise<void> {
  while (inFlight().size > 0) await Promise.all([...inFlight()]);
}

/** A call no budget covers (the rerank worker runs on CPU beside Ollama): recorded and counted only. */
export async function recordUnbudgetedCall(op: ModelOp, result: Omit<LedgerEntry, "op">): Promise<void> {
  const { scope, db } = await scopeAndDb();
  await endModelCall({ scope, db, op, estimate: { tokens: 0, gpuSeconds: 0 }, ids: [], generations: [] }, result);
}

/** A retry made by the work itself (the judge asked again after invalid output): counted by the run's limits. */
export function noteRetry(): void {
  currentUsage()?.limiter?.failedAttempt();
}

/** A deadlock or serialization failure is retried (twice): losing a settlement would leave its reservation held. */
async function retryOnConflict<T>(fn: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (attempt >= 2 || (code !== "40P01" && code !== "40001")) throw err;
    }
  }
}
