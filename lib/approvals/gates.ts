// Where a risky action is asked for, it goes through one of these: it either runs at once (when it is
// not risky, e.g. a small evaluation run) or becomes an approval request bound to its exact arguments,
// which routes answer with HTTP 202 and `waitingForApproval(…)`.
import { requireAdmin, requirePermission, type AccessContext } from "../access/context";
import { getConfig } from "../config";
import { NotFoundError } from "../errors";
import { getDataset } from "../evaluate/datasets";
import { startEvaluationRun, type EvaluationRunView } from "../evaluate/runs";
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
