// Where a risky action is asked for, it goes through one of these: it either runs at once (when it is
// not risky, e.g. a small evaluation run) or becomes an approval request bound to its exact arguments,
// which routes answer with HTTP 202 and `waitingForApproval(…)`.
import { requireAdmin, requirePermission, type AccessContext } from "../access/context";
import { getConfig } from "../config";
import { NotFoundError } from "../errors";
import { getDataset } from "../evaluate/datasets";
import { startEvaluationRun, type EvaluationRunView } from "../evaluate/runs";
import type { CubbyOperation } from "../agents/types";
import { adminCubbyGrants, adminGrant, adminKeyAction, type KeyAction, type KeyActionResult } from "../cubbies/admin";
import type { CubbyGrantView } from "../cubbies/types";
import { isBudgetRaise, setBudget } from "../usage/budgets";
import type { BudgetInput, BudgetView } from "../usage/types";
import { requestApproval, waitingForApproval, type PendingApprovalAnswer } from "./service";

export type RunOrApproval = { kind: "run"; run: EvaluationRunView } | { kind: "approval"; answer: PendingApprovalAnswer };

/**
 * Starts an evaluation run, or — when its dataset version has more than APPROVAL_RUN_ITEMS items — asks
 * for approval of exactly that run (dataset, version, baseline, item count) and starts nothing.
 */
export async function startEvaluationRunOrAskApproval(
  ctx: AccessContext,
  input: { datasetId: string; version?: number; baselineRunId?: string },
): Promise<RunOrApproval> {
  requirePermission(ctx, "score");
  const ds = await getDataset(ctx, input.datasetId, input.version);
  const itemCount = ds.items.length;
  if (itemCount <= getConfig().APPROVAL_RUN_ITEMS) {
    return { kind: "run", run: await startEvaluationRun(ctx, input) };
  }
  const approval = await requestApproval(ctx, "evaluation.run", {
    datasetId: ds.id,
    version: ds.version,
    baselineRunId: input.baselineRunId ?? null,
    itemCount,
  });
  return { kind: "approval", answer: waitingForApproval(approval) };
}

/** Deleting a collection always waits for approval. */
export async function requestCollectionDeletion(ctx: AccessContext, collectionId: string): Promise<PendingApprovalAnswer> {
  requireAdmin(ctx);
  const found = await ctx.db.prisma.collection.findUnique({ where: { id: collectionId }, select: { id: true } });
  if (!found) throw new NotFoundError(`Collection ${collectionId}`);
  return waitingForApproval(await requestApproval(ctx, "collection.delete", { collectionId }));
}

/** Deleting a source always waits for approval. */
export async function requestSourceDeletion(ctx: AccessContext, sourceId: string): Promise<PendingApprovalAnswer> {
  requireAdmin(ctx);
  const found = await ctx.db.prisma.source.findUnique({ where: { id: sourceId }, select: { collectionId: true } });
  if (!found || !ctx.readableIds.includes(found.collectionId)) throw new NotFoundError("Source");
  return waitingForApproval(await requestApproval(ctx, "source.delete", { sourceId }));
}

export type GrantOrApproval = { kind: "grant"; grant: CubbyGrantView } | { kind: "approval"; answer: PendingApprovalAnswer };

/**
 * Grants an agent access to a cubby — at once when the agent already holds a live grant on it (a change of
 * operations or expiry), otherwise (an agent new to this cubby) only after another admin's approval.
 */
export async function grantCubbyOrAskApproval(
  ctx: AccessContext,
  cubby: string,
  input: { agent: string; operations: CubbyOperation[]; expiresAt?: string | null },
): Promise<GrantOrApproval> {
  requireAdmin(ctx);
  const grants = await adminCubbyGrants(ctx, cubby); // 404 for an unknown cubby
  if (grants.some((g) => g.agent === input.agent && g.active)) return { kind: "grant", grant: await adminGrant(ctx, cubby, input) };
  const agent = await ctx.db.prisma.agent.findUnique({ where: { name: input.agent }, select: { disabledAt: true } });
  if (!agent || agent.disabledAt) throw new NotFoundError(`Agent "${input.agent}" (unknown agent)`);
  const approval = await requestApproval(ctx, "cubby.grant", {
    cubby,
    agent: input.agent,
    operations: [...new Set(input.operations)].sort(),
    expiresAt: input.expiresAt ?? null,
  });
  return { kind: "approval", answer: waitingForApproval(approval) };
}

/** A cubby key's lifecycle: shredding waits for another admin's approval; rotate, rewrap and retire run at once. */
export async function cubbyKeyActionOrAskApproval(ctx: AccessContext, cubby: string, action: KeyAction): Promise<KeyActionResult | PendingApprovalAnswer> {
  requireAdmin(ctx);
  if (action !== "shred") return adminKeyAction(ctx, cubby, action);
  await adminCubbyGrants(ctx, cubby); // 404 for an unknown cubby
  return waitingForApproval(await requestApproval(ctx, "cubby.key.shred", { cubby }));
}

/**
 * Sets a budget, or — when it would raise an existing budget's limit or budget-mode threshold — asks for
 * approval of exactly that budget and changes nothing. A new budget, or a lower one, applies at once.
 */
export async function setBudgetOrAskApproval(ctx: AccessContext, input: BudgetInput): Promise<{ budget: BudgetView } | PendingApprovalAnswer> {
  requireAdmin(ctx);
  if (await isBudgetRaise(ctx, input)) return waitingForApproval(await requestApproval(ctx, "budget.raise", input));
  return { budget: await setBudget(ctx, input) };
}
