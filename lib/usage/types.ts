// What the usage ledger and the budgets send: one shape for the API's JSON and the admin page's props
// (times as ISO strings).
import { z } from "zod";

export const BUDGET_SCOPE_KINDS = ["global", "user", "api_key", "agent", "schedule"] as const;
export type BudgetScopeKind = (typeof BUDGET_SCOPE_KINDS)[number];
export const BUDGET_METRICS = ["tokens", "gpu_seconds"] as const;
export type BudgetMetric = (typeof BUDGET_METRICS)[number];
export const BUDGET_PERIODS = ["day", "month"] as const;
export type BudgetPeriod = (typeof BUDGET_PERIODS)[number];

/** What an admin sends to create or change a budget (PUT /api/admin/budgets). */
export const budgetInputSchema = z
  .object({
    scopeKind: z.enum(BUDGET_SCOPE_KINDS),
    /** The user, key, agent or schedule id; omitted for global. */
    scopeId: z.string().trim().max(200).optional(),
    metric: z.enum(BUDGET_METRICS),
    period: z.enum(BUDGET_PERIODS),
    limit: z.coerce.number().positive("limit must be more than 0").max(1e15),
    /** Share of the limit (0–1] from which budget mode applies; default BUDGET_MODE_THRESHOLD. */
    modeThreshold: z.coerce.number().gt(0, "modeThreshold must be more than 0").max(1, "modeThreshold must be at most 1").optional(),
  })
  .superRefine((b, ctx) => {
    if (b.scopeKind === "global" && b.scopeId) ctx.addIssue({ code: "custom", path: ["scopeId"], message: "a global budget has no scopeId" });
    if (b.scopeKind !== "global" && !b.scopeId) ctx.addIssue({ code: "custom", path: ["scopeId"], message: `a ${b.scopeKind} budget needs the ${b.scopeKind}'s id` });
  });
export type BudgetInput = z.infer<typeof budgetInputSchema>;

/** A budget's state as the reservation and the check see it. */
export interface BudgetState {
  id: string;
  scopeKind: BudgetScopeKind;
  scopeId: string;
  metric: BudgetMetric;
  period: BudgetPeriod;
  limit: number;
  used: number;
  reserved: number;
  modeThreshold: number;
  generation: number;
  windowEnd: string;
}

/** The budgets that apply to a piece of work, checked once when it starts. */
export interface BudgetCheck {
  states: BudgetState[];
  /** "budget" from a budget's threshold on: the fallback model, fewer sources, no rewrite, no judge. */
  mode: "normal" | "budget";
  /** The budget nearest its limit (the one the payload reports), or null when none applies. */
  nearest: BudgetState | null;
}

/** What every answer says about its budget (`budget` in the ask payload, /v1, MCP, the Ask page). */
export interface BudgetReport {
  mode: "normal" | "budget";
  /** The nearest budget's use and limit in its metric; null when no budget applies. */
  used: number | null;
  limit: number | null;
  metric?: BudgetMetric;
  period?: BudgetPeriod;
  /** "the daily token budget of user alice@example.com" */
  name?: string;
  resetsAt?: string;
}

export interface BudgetView {
  id: string;
  scopeKind: BudgetScopeKind;
  scopeId: string;
  /** The user's e-mail, the key's name, the schedule's name; "everyone" for global. */
  scopeLabel: string;
  metric: BudgetMetric;
  period: BudgetPeriod;
  limit: number;
  modeThreshold: number;
  used: number;
  reserved: number;
  windowStart: string;
  windowEnd: string;
  /** normal, budget (past the threshold), exhausted (at or past the limit). */
  state: "normal" | "budget" | "exhausted";
  updatedAt: string;
}

export interface UsageDay {
  day: string;
  model: string;
  calls: number;
  promptTokens: number;
  completionTokens: number;
  gpuSeconds: number;
}

export interface UsageByPrincipal {
  /** "user:<id>", "api_key:<id>", "schedule:<id>", "evaluation_run:<id>", "import:<id>", "system:<label>" */
  key: string;
  kind: "user" | "api_key" | "system";
  label: string;
  calls: number;
  tokens: number;
  gpuSeconds: number;
  /** Of which: work done for evaluation runs, imports and schedules. */
  evaluationCalls: number;
  importCalls: number;
  scheduleCalls: number;
}

export interface UsageSummary {
  from: string;
  to: string;
  days: UsageDay[];
  principals: UsageByPrincipal[];
  totals: { calls: number; promptTokens: number; completionTokens: number; gpuSeconds: number; loadSeconds: number };
}

export const usageQuerySchema = z.object({
  /** Days back from today (default 30, at most 366). */
  days: z.coerce.number().int().min(1, "days must be at least 1").max(366, "days must be at most 366").default(30),
});

/** New limits for a resumed run (each optional: omitted keeps the run's own; null: the setting's default). */
export const runLimitsSchema = z
  .object({
    maxModelCalls: z.number().int().min(0, "maxModelCalls must be 0 (no limit) or more").max(100_000_000).nullable().optional(),
    maxRetries: z.number().int().min(0, "maxRetries must be 0 (no limit) or more").max(1_000_000).nullable().optional(),
    maxRuntimeSeconds: z.number().int().min(0, "maxRuntimeSeconds must be 0 (no limit) or more").max(30 * 86400).nullable().optional(),
  })
  .strict();
