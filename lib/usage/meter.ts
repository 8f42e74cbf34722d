// What the model client (lib/llm) does around every call: before it, the run's limits and a reservation of
// the call's estimated cost on every budget that applies (BudgetExhaustedError when one is used up); after it,
// the Prometheus counters and, from the same figures, the settlement of the reservation with the real cost and
// the ledger row, queued for the writer (one batched statement per database handle, off the caller's path).
// Reservations are handed out of this process's budget leases (lease.ts): an ask awaits no statement while its
// leases have room, and one (which also renews them) when they do not or a budget is nearly used up.
import { beforeDbClose, openedDb, type Db } from "../db/client";
import { observeUsage } from "../metrics";
import { getConfig } from "../config";
import { budgetCheckOf } from "./budget-check";
import type { BudgetCheck } from "./types";
import type { LedgerEntry } from "./queries";
import { currentUsage, systemUsageScope, type UsageScope } from "./scope";
import { anyBudgetFor, isExemptModel } from "./budget-index";
import { releaseHolds, retireHolder, returnLeases, settleHolds, takeHolds, type Hold } from "./lease";
import { enqueue, runningWrites } from "./writer";

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
  /** The reservations the call settles on: its own, or its work's (shared by the work's calls). */
  holds: Hold[];
  /** Whether the holds are the call's own (they end with its settlement) or its work's (they end with the work). */
  ownsHolds: boolean;
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
  if (guardrailsOff()) return { scope, db: undefined, op, holds: [], ownsHolds: true };
  try {
    return await reserve(scope, db, model, op, estimate);
  } finally {
    if (scope.guardrailMs) scope.guardrailMs.value += performance.now() - started;
  }
}

async function reserve(scope: UsageScope, db: Db | undefined, model: string, op: ModelOp, estimate: CallEstimate): Promise<MeterTicket> {
  scope.limiter?.beforeCall();
  const ticket: MeterTicket = { scope, db, op, holds: [], ownsHolds: true };
  // Work that checked its budgets when it started and found none skips the reservation; work that reserved
  // for itself settles on those budgets.
  if (!db || (scope.budgets && scope.budgets.states.length === 0)) return ticket;
  if (scope.prepaid) return { ...ticket, holds: scope.prepaid.holds, ownsHolds: false };
  if (!(await anyBudgetFor(db, scope)) || (await isExemptModel(db, model))) return ticket;
  const { holds } = await takeHolds(db, scope, model, estimate, estimate);
  return { ...ticket, holds };
}

/**
 * After a model call (or its failure): count it, and queue its settlement and ledger row for the writer,
 * which runs off the caller's path (the answer does not wait for it; until it lands, the call's reservation
 * simply stays held a few milliseconds longer). `flushUsage()` waits for what is queued. Never throws.
 */
export async function endModelCall(ticket: MeterTicket, result: Omit<LedgerEntry, "op">, opts: { aborted?: boolean } = {}): Promise<void> {
  const entry: LedgerEntry = { ...result, op: ticket.op };
  // A call the work itself stopped is not a failed attempt.
  if (!entry.ok && !opts.aborted) ticket.scope.limiter?.failedAttempt();
  observeUsage(entry);
  const db = ticket.db;
  if (!db) return;
  const used = { tokens: entry.promptTokens + entry.completionTokens, gpuSeconds: entry.gpuSeconds };
  const { parts, freesRoom } = settleHolds(ticket.holds, used, ticket.ownsHolds);
  enqueue(db, { scope: ticket.scope, entry, parts }, { freesRoom });
}

/**
 * Reserves the most a piece of work can use (an ask: its rewrite, embedding and answer) on every budget
 * that applies when it starts — from this process's leases, or by one statement that also takes them: 429
 * (BudgetExhaustedError) when one is used up, and whether it runs in budget mode. Its model calls then settle
 * on those reservations without reserving again; `release()` returns what is left of them when the work ends.
 */
export async function reserveForWork(scope: UsageScope, estimate: CallEstimate): Promise<{ check: BudgetCheck; prepaid?: UsageScope["prepaid"]; release(): void }> {
  if (!(await anyBudgetFor(scope.db, scope))) return { check: budgetCheckOf([]), release: () => {} };
  // The work's own reservation is not use: budget mode is decided without it (takeHolds leaves it out).
  const { holds, rows } = await takeHolds(scope.db, scope, null, estimate, estimate);
  const release = () => {
    const parts = releaseHolds(holds);
    if (parts.length) enqueue(scope.db, { scope: null, entry: null, parts }, { freesRoom: true });
  };
  return { check: budgetCheckOf(rows), prepaid: holds.length ? { holds } : undefined, release };
}

/** What a call of `tokens` tokens at most reserves (GPU-seconds at BUDGET_ESTIMATE_GPU_SECONDS_PER_1K_TOKENS). */
export function estimateFor(tokens: number): CallEstimate {
  return { tokens, gpuSeconds: (tokens / 1000) * getConfig().BUDGET_ESTIMATE_GPU_SECONDS_PER_1K_TOKENS };
}

// Other usage writes still landing (an agent token's call counts), per process.
const PENDING = Symbol.for("sot.usagePending");
type PendingHolder = typeof globalThis & { [PENDING]?: Set<Promise<unknown>> };
const pending = () => ((globalThis as PendingHolder)[PENDING] ??= new Set());

/** Has `flushUsage()` wait for a usage write made off the caller's path (it must not reject). */
export function trackUsageWrite(p: Promise<unknown>): void {
  pending().add(p);
  void p.finally(() => pending().delete(p));
}

/**
 * Gives back this process's budget leases and waits until every settlement, ledger row and release it queued
 * has landed (tests, shutdown, a run's end). Work still running keeps its reservations; they go back as it ends.
 */
export async function flushUsage(): Promise<void> {
  returnLeases();
  for (;;) {
    const running: Promise<unknown>[] = runningWrites({ hurry: true });
    running.push(...pending());
    if (running.length === 0) return;
    await Promise.all(running);
  }
}

// A command that ends with closeDb() hands its leases back and lands its ledger rows first, then removes its
// budget holder (lease.ts, "Holders").
beforeDbClose(async (db) => {
  await flushUsage();
  await retireHolder(db);
});

/** A call no budget covers (the rerank worker runs on CPU beside Ollama): recorded and counted only. */
export async function recordUnbudgetedCall(op: ModelOp, result: Omit<LedgerEntry, "op">): Promise<void> {
  const { scope, db } = await scopeAndDb();
  await endModelCall({ scope, db, op, holds: [], ownsHolds: true }, result);
}

/** A retry made by the work itself (the judge asked again after invalid output): counted by the run's limits. */
export function noteRetry(): void {
  currentUsage()?.limiter?.failedAttempt();
}
