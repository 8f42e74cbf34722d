// On whose behalf a model call is made. The model client (lib/llm) is called deep inside retrieval,
// ingestion and judging, far from the AccessContext that started the work; rather than thread an extra
// argument through every layer, the entry points (an ask, an evaluation run, an import, a schedule run)
// run their work inside a usage scope built from their AccessContext, and every model call made inside it
// is recorded and budgeted for that scope. A call outside any scope is recorded as the system's.
import { AsyncLocalStorage } from "node:async_hooks";
import type { AccessContext } from "../access/context";
import type { Db } from "../db/client";
import type { BudgetCheck } from "./types";
import type { RunLimiter } from "./run-limits";
import type { Hold } from "./lease";
import { AgentTokenLimiter } from "../agents/limiter";

export interface UsageScope {
  /** Where the ledger row and the budget reservation go. */
  db: Db;
  principalKind: "user" | "api_key" | "system" | "agent";
  userId: string | null;
  apiKeyId: string | null;
  agentId: string | null;
  scheduleId: string | null;
  evaluationRunId: string | null;
  importJobId: string | null;
  /** Who acts, for messages ("alice@example.com", "key nightly-eval", "notion webhook"). */
  label: string;
  /** The budgets that applied when the work started (an ask checks once): none → calls skip reserving. */
  budgets?: BudgetCheck;
  /**
   * A reservation made for the whole work when it started (an ask reserves its maximum once): its model
   * calls settle their real cost on these budgets without reserving again.
   */
  prepaid?: { holds: Hold[] };
  /** The run's limits (model calls, retries, runtime), when the work is a tracked run. */
  limiter?: RunLimiter;
  /** Adds up the time the guardrails (budget check, reservations, ledger rows) take, when given (an ask reports it). */
  guardrailMs?: { value: number };
}

export type UsageScopeExtra = Partial<Pick<UsageScope, "agentId" | "scheduleId" | "evaluationRunId" | "importJobId" | "budgets" | "limiter">>;

// One store per process even when Next.js loads this module in several bundles.
const KEY = Symbol.for("sot.usageScope");
type Holder = typeof globalThis & { [KEY]?: AsyncLocalStorage<UsageScope> };
function storage(): AsyncLocalStorage<UsageScope> {
  const g = globalThis as Holder;
  return (g[KEY] ??= new AsyncLocalStorage<UsageScope>());
}

/** The scope of a context: its principal, plus what the work is (a schedule, a run, an import). */
export function usageScopeFor(ctx: AccessContext, extra: UsageScopeExtra = {}): UsageScope {
  const inherited = currentUsage();
  const p = ctx.principal;
  return {
    db: ctx.db,
    principalKind: p.kind,
    userId: p.userId,
    apiKeyId: p.apiKeyId,
    label: p.label,
    // Work nested in other work keeps what it belongs to (an ask inside an evaluation run started by a schedule).
    agentId: extra.agentId ?? p.agent?.agentId ?? inherited?.agentId ?? null,
    scheduleId: extra.scheduleId ?? inherited?.scheduleId ?? null,
    evaluationRunId: extra.evaluationRunId ?? inherited?.evaluationRunId ?? null,
    importJobId: extra.importJobId ?? inherited?.importJobId ?? null,
    // Work done with an agent token is held to the token's limits (lib/agents/limiter.ts).
    limiter: extra.limiter ?? inherited?.limiter ?? (p.kind === "agent" && p.agent?.tokenId ? new AgentTokenLimiter(ctx.db.sql, p.agent) : undefined),
    budgets: extra.budgets,
  };
}

/**
 * The scope of work the system does on nobody's behalf (an import, a call outside any work): the
 * principal is the system; `extra` says what the work is.
 */
export function systemUsageScope(db: Db, extra: Partial<Pick<UsageScope, "importJobId" | "scheduleId" | "label" | "limiter">> = {}): UsageScope {
  return {
    db,
    principalKind: "system",
    userId: null,
    apiKeyId: null,
    agentId: null,
    scheduleId: extra.scheduleId ?? null,
    evaluationRunId: null,
    importJobId: extra.importJobId ?? null,
    label: extra.label ?? "system",
    limiter: extra.limiter,
  };
}

/** Runs `fn` with every model call inside it recorded for `scope`. */
export function withUsage<T>(scope: UsageScope, fn: () => T): T {
  return storage().run(scope, fn);
}

/** The scope of the work running now, if any. */
export function currentUsage(): UsageScope | undefined {
  return storage().getStore();
}
