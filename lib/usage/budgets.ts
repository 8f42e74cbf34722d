// Budgets, set by admins: a limit in tokens or GPU-seconds per day or month, for a user, a key, an agent,
// a schedule or everyone. Every change is audited. `setBudget` is the one way a budget changes (the API,
// the admin page): an approval step for raising a budget hooks in there, with `isBudgetRaise` telling
// which changes raise one.
import { requireAdmin, type AccessContext } from "../access/context";
import { auditAs } from "../audit";
import { getConfig } from "../config";
import type { Db } from "../db/client";
import { NotFoundError, ValidationError } from "../errors";
import { budgetName } from "./budget-check";
import { budgetsChanged } from "./budget-index";
import { returnLeases } from "./lease";
import {
  closeEndedWindows,
  deleteBudget as deleteBudgetRow,
  exemptModels,
  listBudgetRows,
  restartBudgetWindow,
  scopeLabels,
  setModelExempt,
  upsertBudget,
  type BudgetRow,
} from "./queries";
import { budgetInputSchema, type BudgetInput, type BudgetView } from "./types";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function view(r: BudgetRow, labels: Map<string, string>): BudgetView {
  const used = Number(r.used);
  const reserved = Number(r.reserved);
  const limit = Number(r.limit_value);
  const share = (used + reserved) / limit;
  return {
    id: r.id,
    scopeKind: r.scope_kind as BudgetView["scopeKind"],
    scopeId: r.scope_id,
    scopeLabel: r.scope_kind === "global" ? "everyone" : (labels.get(`${r.scope_kind}:${r.scope_id}`) ?? r.scope_id),
    metric: r.metric as BudgetView["metric"],
    period: r.period as BudgetView["period"],
    limit,
    modeThreshold: Number(r.mode_threshold),
    used,
    reserved,
    windowStart: new Date(r.window_start).toISOString(),
    windowEnd: new Date(r.window_end).toISOString(),
    state: share >= 1 ? "exhausted" : share >= Number(r.mode_threshold) ? "budget" : "normal",
    updatedAt: new Date(r.updated_at).toISOString(),
  };
}

async function labelsFor(db: Db, rows: BudgetRow[]): Promise<Map<string, string>> {
  const ids = (kind: string) => rows.filter((r) => r.scope_kind === kind).map((r) => r.scope_id);
  const found = await scopeLabels(db.sql, { users: ids("user"), keys: ids("api_key"), schedules: ids("schedule") });
  return new Map(found.map((l) => [`${l.kind}:${l.id}`, l.label]));
}

/** Every budget with its current window, use and state. Admins only. */
export async function listBudgets(ctx: AccessContext): Promise<{ budgets: BudgetView[]; exemptModels: string[]; defaultThreshold: number; timeZone: string }> {
  requireAdmin(ctx);
  const rows = await listBudgetRows(ctx.db.sql);
  const labels = await labelsFor(ctx.db, rows);
  const exempt = await exemptModels(ctx.db.sql);
  const config = getConfig();
  return { budgets: rows.map((r) => view(r, labels)), exemptModels: exempt.map((e) => e.model), defaultThreshold: config.BUDGET_MODE_THRESHOLD, timeZone: config.BUDGET_TIME_ZONE };
}

/** The user, key or schedule a budget names must exist (an agent is named by its own id). */
async function checkScope(db: Db, input: BudgetInput): Promise<void> {
  const id = input.scopeId ?? "";
  if (input.scopeKind === "global" || input.scopeKind === "agent") return;
  const field = [{ path: "scopeId", message: `no ${input.scopeKind.replace("_", " ")} has the id ${id}` }];
  if (!UUID.test(id)) throw new ValidationError(`scopeId must be the ${input.scopeKind.replace("_", " ")}'s id (a UUID).`, [{ path: "scopeId", message: "must be a UUID" }]);
  const found = await scopeLabels(db.sql, { users: input.scopeKind === "user" ? [id] : [], keys: input.scopeKind === "api_key" ? [id] : [], schedules: input.scopeKind === "schedule" ? [id] : [] });
  if (found.length === 0) throw new ValidationError(`There is no ${input.scopeKind.replace("_", " ")} ${id}.`, field);
}

/** Whether `input` would raise an existing budget's limit or threshold (what an approval would gate). */
export async function isBudgetRaise(ctx: AccessContext, input: BudgetInput): Promise<boolean> {
  const rows = await listBudgetRows(ctx.db.sql);
  const current = rows.find((r) => r.scope_kind === input.scopeKind && r.scope_id === (input.scopeId ?? "") && r.metric === input.metric && r.period === input.period);
  if (!current) return false;
  return input.limit > Number(current.limit_value) || (input.modeThreshold ?? getConfig().BUDGET_MODE_THRESHOLD) > Number(current.mode_threshold);
}

/**
 * Creates a budget (its window starts with the current day or month, nothing used: earlier usage never
 * counts against a new budget) or changes an existing one's limit and threshold (its window and use stay).
 */
export async function setBudget(ctx: AccessContext, raw: BudgetInput): Promise<BudgetView> {
  requireAdmin(ctx);
  const input = budgetInputSchema.parse(raw);
  await checkScope(ctx.db, input);
  const config = getConfig();
  const { row, created } = await upsertBudget(ctx.db.sql, {
    scopeKind: input.scopeKind,
    scopeId: input.scopeId ?? "",
    metric: input.metric,
    period: input.period,
    limit: input.limit,
    modeThreshold: input.modeThreshold ?? config.BUDGET_MODE_THRESHOLD,
    createdById: ctx.principal.userId,
    timeZone: config.BUDGET_TIME_ZONE,
  });
  if (created) budgetsChanged();
  // This process's lease of the budget goes back: its next work sees the new limit and threshold at once
  // (other processes within their lease's lifetime, LEASE_MS).
  else returnLeases(row.id);
  await auditAs(ctx, created ? "budget.create" : "budget.change", `budget:${row.id}`, {
    budget: budgetName(row),
    limit: Number(row.limit_value),
    modeThreshold: Number(row.mode_threshold),
  });
  return view(row, await labelsFor(ctx.db, [row]));
}

/** Starts a budget's window again now, with nothing used. */
export async function restartBudget(ctx: AccessContext, id: string): Promise<BudgetView> {
  requireAdmin(ctx);
  const row = await restartBudgetWindow(ctx.db.sql, id, getConfig().BUDGET_TIME_ZONE);
  if (!row) throw new NotFoundError(`Budget ${id}`);
  returnLeases(id); // a lease of the old window must not serve the new one
  await auditAs(ctx, "budget.restart", `budget:${id}`, { budget: budgetName(row) });
  return view(row, await labelsFor(ctx.db, [row]));
}

export async function removeBudget(ctx: AccessContext, id: string): Promise<void> {
  requireAdmin(ctx);
  const row = await deleteBudgetRow(ctx.db.sql, id);
  if (!row) throw new NotFoundError(`Budget ${id}`);
  returnLeases(id);
  await auditAs(ctx, "budget.delete", `budget:${id}`, { budget: budgetName(row), limit: Number(row.limit_value), used: Number(row.used) });
}

/** Exempts a model from every budget (its calls are still in the ledger), or ends the exemption. */
export async function setModelExemption(ctx: AccessContext, model: string, exempt: boolean): Promise<{ model: string; exempt: boolean; changed: boolean }> {
  requireAdmin(ctx);
  const changed = await setModelExempt(ctx.db.sql, model, exempt, ctx.principal.userId);
  if (changed) {
    budgetsChanged();
    await auditAs(ctx, exempt ? "budget.exempt_model" : "budget.unexempt_model", `model:${model}`, {});
  }
  return { model, exempt, changed };
}

/**
 * Closes the windows that have ended (the scheduler calls this on every poll; any number of scheduler
 * processes may): each closes exactly once.
 */
export async function closeBudgetWindows(db: Db): Promise<number> {
  const closed = await closeEndedWindows(db.sql, getConfig().BUDGET_TIME_ZONE);
  // This process's leases of a closed window go back at once (other processes' expire with it: a lease is
  // never used past the window end it was taken with).
  for (const c of closed) returnLeases(String(c.id));
  return closed.length;
}

/** What a budget can be set for, for the admin page's pickers: users, live keys, schedules. */
export async function budgetScopeChoices(ctx: AccessContext): Promise<{ users: Array<{ id: string; label: string }>; keys: Array<{ id: string; label: string }>; schedules: Array<{ id: string; label: string }> }> {
  requireAdmin(ctx);
  const [users, keys, schedules] = await Promise.all([
    ctx.db.prisma.user.findMany({ where: { disabledAt: null }, select: { id: true, email: true }, orderBy: { email: "asc" } }),
    ctx.db.prisma.apiKey.findMany({ where: { revokedAt: null }, select: { id: true, name: true }, orderBy: { name: "asc" } }),
    ctx.db.prisma.schedule.findMany({ select: { id: true, name: true }, orderBy: { name: "asc" } }),
  ]);
  return {
    users: users.map((u) => ({ id: u.id, label: u.email })),
    keys: keys.map((k) => ({ id: k.id, label: k.name })),
    schedules: schedules.map((s) => ({ id: s.id, label: s.name })),
  };
}
