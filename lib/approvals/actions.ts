// The risky actions that wait for approval. Each declares its exact arguments (zod: ids, numbers and
// flags only — the arguments are hashed, shown to approvers and never hold collection text), the
// permission its requester needs, one line for lists, and either
//   - `execute`: carried out by the `approvals.execute` job right after approval, with the requester's
//     access as it is then (lib/access/context.ts accessContextForActor), or
//   - no `execute`: carried out by the code that asked for it (a command, another area's service),
//     through `runApproved()` (lib/approvals/service.ts), which refuses any other arguments.
// Adding an action = one entry in APPROVAL_ACTIONS.
import { z } from "zod";
import type { AccessContext } from "../access/context";
import { adminDeleteCollection } from "../access/admin";
import type { Permission } from "../auth/roles";
import { UnprocessableError } from "../errors";
import { startEvaluationRun } from "../evaluate/runs";
import { deleteSource } from "../ingest/sources";

export interface ApprovalAction<A extends Record<string, unknown> = Record<string, unknown>> {
  action: string;
  label: string;
  args: z.ZodType<A>;
  /** What the requester needs to ask for it; checked again, with their access then, when it runs. */
  permission: Permission;
  /** One line for lists and notifications' pages: ids and counts. */
  summary(args: A): string;
  execute?(ctx: AccessContext, args: A): Promise<Record<string, unknown>>;
}

function approvalAction<A extends Record<string, unknown>>(a: ApprovalAction<A>): ApprovalAction<A> {
  return a;
}

const uuid = (what: string) => z.string().uuid(`must be a ${what} id (UUID)`);
/** Arguments of actions defined by other areas: flat, identifiers and numbers (never prose). */
const flatArgs = z.record(z.string().regex(/^\w{1,64}$/), z.union([z.string().max(200), z.number(), z.boolean(), z.null(), z.array(z.string().max(200)).max(100)]));

export const APPROVAL_ACTIONS: ReadonlyArray<ApprovalAction<any>> = [
  approvalAction({
    action: "evaluation.run",
    label: "Evaluation run over many items",
    permission: "score",
    // The version is fixed when it is requested: the run asks exactly the items that were approved.
    args: z.object({ datasetId: uuid("dataset"), version: z.number().int().min(1), baselineRunId: uuid("run").nullable(), itemCount: z.number().int().min(1) }).strict(),
    summary: (a) => `Evaluation run of ${a.itemCount} items (dataset ${a.datasetId}, version ${a.version})`,
    async execute(ctx, a) {
      const run = await startEvaluationRun(ctx, { datasetId: a.datasetId, version: a.version, baselineRunId: a.baselineRunId });
      if (run.itemCount !== a.itemCount) {
        throw new UnprocessableError(`The dataset version now has ${run.itemCount} items, not the ${a.itemCount} that were approved.`);
      }
      return { runId: run.id, itemCount: run.itemCount };
    },
  }),
  approvalAction({
    action: "collection.delete",
    label: "Delete a collection",
    permission: "admin",
    args: z.object({ collectionId: uuid("collection") }).strict(),
    summary: (a) => `Delete collection ${a.collectionId} with its sources and documents`,
    execute: (ctx, a) => adminDeleteCollection(ctx, a.collectionId),
  }),
  approvalAction({
    action: "source.delete",
    label: "Delete a source",
    permission: "admin",
    args: z.object({ sourceId: uuid("source") }).strict(),
    summary: (a) => `Delete source ${a.sourceId} with its documents`,
    execute: (ctx, a) => deleteSource(ctx, a.sourceId),
  }),
  approvalAction({
    action: "backup.restore",
    label: "Restore a backup over a database that holds data",
    permission: "admin",
    // Carried out by `npm run restore -- --snapshot <id> --force --approval <approval id>`.
    args: z.object({ snapshotId: z.string().regex(/^[\w.:-]{1,100}$/, "must be a snapshot id") }).strict(),
    summary: (a) => `Restore snapshot ${a.snapshotId} over the current database`,
  }),
  approvalAction({
    action: "key.rotate",
    label: "Rotate the master key",
    permission: "admin",
    // Carried out by `npm run keys:rotate -- --approval <approval id>` (with --backups when approved so).
    args: z.object({ backups: z.boolean() }).strict(),
    summary: (a) => `Add a new master key and re-wrap every secret${a.backups ? " and backup" : ""} under it`,
  }),
  approvalAction({
    action: "kes.key.rotate",
    label: "Rotate a KES key",
    permission: "admin",
    args: z.object({ keyName: z.string().regex(/^[\w.:/-]{1,100}$/) }).strict(),
    summary: (a) => `Rotate KES key ${a.keyName}`,
  }),
  approvalAction({
    action: "kes.key.shred",
    label: "Shred a KES key (what it protects becomes unreadable)",
    permission: "admin",
    args: z.object({ keyName: z.string().regex(/^[\w.:/-]{1,100}$/) }).strict(),
    summary: (a) => `Shred KES key ${a.keyName}`,
  }),
  approvalAction({
    action: "budget.raise",
    label: "Raise a budget",
    permission: "admin",
    // Carried out by the budgets' service (usage ledger) through runApproved().
    args: flatArgs,
    summary: (a) => `Raise budget ${String(a.budgetId ?? a.budget ?? "?")} to ${String(a.limit ?? "?")}`,
  }),
  approvalAction({
    action: "cubby.grant",
    label: "Grant a cubby to a new agent",
    permission: "admin",
    // Carried out by the cubbies' service through runApproved().
    args: flatArgs,
    summary: (a) => `Grant cubby ${String(a.cubbyId ?? a.cubby ?? "?")} to agent ${String(a.agentId ?? a.agent ?? "?")}`,
  }),
];

export function getApprovalAction(action: string): ApprovalAction | undefined {
  return APPROVAL_ACTIONS.find((a) => a.action === action);
}
