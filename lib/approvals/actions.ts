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
import { NAME_RE, NAME_RULE } from "../agents/service";
import { CUBBY_OPERATIONS } from "../agents/types";
import { adminGrant, adminKeyAction } from "../cubbies/admin";
import type { Permission } from "../auth/roles";
import { UnprocessableError } from "../errors";
import { startEvaluationRun } from "../evaluate/runs";
import { deleteSource } from "../ingest/sources";
import { setBudget } from "../usage/budgets";
import { BUDGET_METRICS, BUDGET_PERIODS, BUDGET_SCOPE_KINDS } from "../usage/types";

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
    // For services that rotate their own KES keys, through runApproved().
    args: z.object({ keyName: z.string().regex(/^[\w.:/-]{1,100}$/) }).strict(),
    summary: (a) => `Rotate KES key ${a.keyName}`,
  }),
  approvalAction({
    action: "kes.key.shred",
    label: "Shred a KES key (what it protects becomes unreadable)",
    permission: "admin",
    // For services that shred their own KES keys, through runApproved().
    args: z.object({ keyName: z.string().regex(/^[\w.:/-]{1,100}$/) }).strict(),
    summary: (a) => `Shred KES key ${a.keyName}`,
  }),
  approvalAction({
    action: "cubby.key.shred",
    label: "Shred a cubby's key (no value of it opens again)",
    permission: "admin",
    args: z.object({ cubby: z.string().regex(NAME_RE, NAME_RULE) }).strict(),
    summary: (a) => `Shred the key of cubby ${a.cubby}`,
    execute: async (ctx, a) => ({ ...(await adminKeyAction(ctx, a.cubby, "shred")) }),
  }),
  approvalAction({
    action: "cubby.grant",
    label: "Grant a cubby to an agent that has no access to it yet",
    permission: "admin",
    args: z
      .object({
        cubby: z.string().regex(NAME_RE, NAME_RULE),
        agent: z.string().regex(NAME_RE, NAME_RULE),
        operations: z.array(z.enum(CUBBY_OPERATIONS)).min(1).max(CUBBY_OPERATIONS.length),
        expiresAt: z.string().datetime({ offset: true }).nullable(),
      })
      .strict(),
    summary: (a) => `Grant agent ${a.agent} ${a.operations.join(", ")} on cubby ${a.cubby}${a.expiresAt ? ` until ${a.expiresAt}` : ""}`,
    execute: async (ctx, a) => {
      const g = await adminGrant(ctx, a.cubby, { agent: a.agent, operations: a.operations, expiresAt: a.expiresAt });
      return { grantId: g.id };
    },
  }),
  approvalAction({
    action: "budget.raise",
    label: "Raise a budget's limit or budget-mode threshold",
    permission: "admin",
    // Exactly the budget as it will be set (lowering one, or making a new one, needs no approval).
    args: z
      .object({
        scopeKind: z.enum(BUDGET_SCOPE_KINDS),
        scopeId: z.string().max(200).optional(),
        metric: z.enum(BUDGET_METRICS),
        period: z.enum(BUDGET_PERIODS),
        limit: z.number().positive().max(1e15),
        modeThreshold: z.number().gt(0).max(1).optional(),
      })
      .strict(),
    summary: (a) =>
      `Raise the ${a.period === "day" ? "daily" : "monthly"} ${a.metric === "tokens" ? "token" : "GPU-second"} budget of ${a.scopeKind === "global" ? "everyone" : `${a.scopeKind.replace("_", " ")} ${a.scopeId}`} to ${a.limit}${a.modeThreshold !== undefined ? ` (budget mode from ${Math.round(a.modeThreshold * 100)}%)` : ""}`,
    execute: async (ctx, a) => ({ budgetId: (await setBudget(ctx, a)).id }),
  }),
];

export function getApprovalAction(action: string): ApprovalAction | undefined {
  return APPROVAL_ACTIONS.find((a) => a.action === action);
}
