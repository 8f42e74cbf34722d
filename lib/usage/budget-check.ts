// Degrade before deny: the budgets that apply to a piece of work, checked once when it starts
// (lib/usage/meter.ts reserveForWork). From a
// budget's threshold (BUDGET_MODE_THRESHOLD, 80% by default) on, the work runs in budget mode — the
// fallback model, fewer sources, no follow-up rewrite, no judge in runs — and says so; a budget that is
// used up refuses new work with 429, naming the budget and when its window resets.
import type { BudgetRow } from "./queries";
import type { UsageScope } from "./scope";
import type { BudgetCheck, BudgetMetric, BudgetPeriod, BudgetReport, BudgetScopeKind, BudgetState } from "./types";

export function toBudgetState(r: BudgetRow): BudgetState {
  return {
    id: r.id,
    scopeKind: r.scope_kind as BudgetScopeKind,
    scopeId: r.scope_id,
    metric: r.metric as BudgetMetric,
    period: r.period as BudgetPeriod,
    limit: Number(r.limit_value),
    used: Number(r.used),
    reserved: Number(r.reserved),
    modeThreshold: Number(r.mode_threshold),
    generation: r.generation,
    windowEnd: new Date(r.window_end).toISOString(),
  };
}

const PERIOD_WORD = { day: "daily", month: "monthly" } as const;
const METRIC_WORD = { tokens: "token", gpu_seconds: "GPU-second" } as const;

/** "the daily token budget of user alice@example.com", "the monthly GPU-second budget of everyone". */
export function budgetName(b: Pick<BudgetRow, "scope_kind" | "scope_id" | "metric" | "period">, scope?: Pick<UsageScope, "principalKind" | "userId" | "apiKeyId" | "label">): string {
  const own =
    (b.scope_kind === "user" && scope?.principalKind === "user" && scope.userId === b.scope_id) ||
    (b.scope_kind === "api_key" && scope?.apiKeyId === b.scope_id);
  const who =
    b.scope_kind === "global"
      ? "everyone"
      : `${{ user: "user", api_key: "API key", agent: "agent", schedule: "schedule" }[b.scope_kind as Exclude<BudgetScopeKind, "global">] ?? b.scope_kind} ${own ? scope!.label : b.scope_id}`;
  return `${PERIOD_WORD[b.period as BudgetPeriod] ?? b.period} ${METRIC_WORD[b.metric as BudgetMetric] ?? b.metric} budget of ${who}`;
}

const share = (s: BudgetState) => (s.used + s.reserved) / s.limit;

/** Budget mode and the nearest budget, from the budgets that apply to a piece of work. */
export function budgetCheckOf(rows: BudgetRow[]): BudgetCheck {
  const states = rows.map(toBudgetState);
  const nearest = states.reduce<BudgetState | null>((a, s) => (!a || share(s) > share(a) ? s : a), null);
  const mode = states.some((s) => share(s) >= s.modeThreshold) ? "budget" : "normal";
  return { states, mode, nearest };
}

/** What an answer says about its budget. */
export function budgetReport(check: BudgetCheck | undefined, scope?: UsageScope): BudgetReport {
  const n = check?.nearest;
  if (!check || !n) return { mode: check?.mode ?? "normal", used: null, limit: null };
  return {
    mode: check.mode,
    used: Math.round((n.used + n.reserved) * 1000) / 1000,
    limit: n.limit,
    metric: n.metric,
    period: n.period,
    name: budgetName({ scope_kind: n.scopeKind, scope_id: n.scopeId, metric: n.metric, period: n.period }, scope),
    resetsAt: n.windowEnd,
  };
}

/** The ask payload's `budget` in the snake_case of the MCP and OpenAI responses. */
export function budgetOut(b: BudgetReport) {
  return {
    mode: b.mode,
    used: b.used,
    limit: b.limit,
    ...(b.metric ? { metric: b.metric } : {}),
    ...(b.period ? { period: b.period } : {}),
    ...(b.name ? { name: b.name } : {}),
    ...(b.resetsAt ? { resets_at: b.resetsAt } : {}),
  };
}
