// Approvals for risky actions: a request binds an action to its exact arguments (their hash); admins
// other than the requester decide, each with a comment, until the quorum approves or one rejects; a
// request nobody decided expires (and fails closed); an approved action is carried out once, through one
// compare-and-set (approved → executing) that also checks the arguments' hash and the expiry.
//
// For other areas: `requestApproval(ctx, "budget.raise", args)` where the risky change is asked for
// (answer HTTP 202 with `waitingForApproval(view)`), and, where it is carried out,
// `runApproved(db, { approvalId, action, args, executedBy }, (args) => doIt(args))`. Every step is audited.
import { accessContextForActor, actorRef, requireAdmin, requirePermission, type AccessContext, type ActorRef } from "../access/context";
import { audit, auditAs } from "../audit";
import { getConfig } from "../config";
import { getDb, type Db } from "../db/client";
import { ConflictError, ForbiddenError, NotFoundError, ValidationError, zodIssuesToDetails } from "../errors";
import { defineJob, enqueue } from "../jobs/queue";
import { log } from "../log";
import { notify } from "../notify";
import { APPROVAL_ACTIONS, getApprovalAction, type ApprovalAction } from "./actions";
import { argsHash } from "./hash";
import {
  approvalCount,
  approvedNotCarriedOut,
  claimForExecution,
  closePending,
  expireDue,
  finishExecution,
  insertDecision,
  lockApproval,
  readApproval,
} from "./queries";
import type { ApprovalStatus, ApprovalView, PendingApprovalAnswer } from "./types";

export type { ApprovalView, PendingApprovalAnswer } from "./types";

type ApprovalRecord = NonNullable<Awaited<ReturnType<Db["prisma"]["approval"]["findUnique"]>>> & {
  decisions: Array<{ approverUserId: string; approverLabel: string; decision: string; comment: string; createdAt: Date }>;
};

function actionOrThrow(action: string): ApprovalAction {
  const def = getApprovalAction(action);
  if (!def) throw new ValidationError(`Unknown action "${action}".`, [{ path: "action", message: "not an action that takes approval" }]);
  return def;
}

function parseArgs(def: ApprovalAction, args: unknown): Record<string, unknown> {
  const r = def.args.safeParse(args);
  if (!r.success) {
    throw new ValidationError(
      `Invalid arguments for ${def.action}: ${r.error.issues.map((i) => `${i.path.join(".") || "args"} ${i.message}`).join("; ")}`,
      zodIssuesToDetails(r.error.issues).map((d) => ({ ...d, path: `args.${d.path}` })),
    );
  }
  return r.data;
}

/** Whether `ctx` asked for this request (a key's requests are the key's; a person's are theirs). */
function isRequester(ctx: AccessContext, row: { requestedByUserId: string | null; requestedByApiKeyId: string | null }): boolean {
  if (ctx.principal.apiKeyId) return row.requestedByApiKeyId === ctx.principal.apiKeyId;
  return !!ctx.principal.userId && row.requestedByUserId === ctx.principal.userId && row.requestedByApiKeyId === null;
}

function view(ctx: AccessContext | null, row: ApprovalRecord): ApprovalView {
  const def = getApprovalAction(row.action);
  const approvals = row.decisions.filter((d) => d.decision === "approve").length;
  const me = ctx?.principal.userId ?? null;
  return {
    id: row.id,
    action: row.action,
    actionLabel: def?.label ?? row.action,
    args: row.args as Record<string, unknown>,
    argsSha256: row.argsSha256,
    summary: row.summary,
    status: row.status as ApprovalStatus,
    quorum: row.quorum,
    approvals,
    requestedBy: row.requestedByLabel,
    createdAt: row.createdAt.toISOString(),
    expiresAt: row.expiresAt.toISOString(),
    decidedAt: row.decidedAt?.toISOString() ?? null,
    executedAt: row.executedAt?.toISOString() ?? null,
    finishedAt: row.finishedAt?.toISOString() ?? null,
    executedBy: row.executedBy,
    result: (row.result as Record<string, unknown> | null) ?? null,
    error: row.error,
    decisions: row.decisions.map((d) => ({ approver: d.approverLabel, decision: d.decision as "approve" | "reject", comment: d.comment, at: d.createdAt.toISOString() })),
    canDecide:
      !!ctx?.isAdmin &&
      !!me &&
      row.status === "pending" &&
      row.expiresAt.getTime() > Date.now() &&
      row.requestedByUserId !== me &&
      !row.decisions.some((d) => d.approverUserId === me),
    runsByItself: !!def?.execute,
  };
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const withDecisions = { decisions: { orderBy: { createdAt: "asc" as const } } };

async function load(db: Db, id: string): Promise<ApprovalRecord | null> {
  return (await db.prisma.approval.findUnique({ where: { id }, include: withDecisions })) as ApprovalRecord | null;
}

/**
 * Asks for approval of `action` with exactly `args`. The same requester asking again for the same thing
 * while a request is still pending gets that request back (a double click makes one request).
 */
export async function requestApproval(ctx: AccessContext, action: string, args: unknown): Promise<ApprovalView> {
  const def = actionOrThrow(action);
  requirePermission(ctx, def.permission);
  if (!ctx.principal.userId && !ctx.principal.apiKeyId) throw new ForbiddenError("Approvals are asked for by a person or an API key.");
  const exact = parseArgs(def, args);
  const sha = argsHash(action, exact);
  const mine = ctx.principal.apiKeyId ? { requestedByApiKeyId: ctx.principal.apiKeyId } : { requestedByUserId: ctx.principal.userId, requestedByApiKeyId: null };
  const existing = await ctx.db.prisma.approval.findFirst({ where: { argsSha256: sha, status: "pending", expiresAt: { gt: new Date() }, ...mine }, include: withDecisions });
  if (existing) return view(ctx, existing as ApprovalRecord);
  const config = getConfig();
  const ref: ActorRef = actorRef(ctx);
  const row = await ctx.db.prisma.approval.create({
    data: {
      action,
      args: exact as object,
      argsSha256: sha,
      summary: def.summary(exact),
      quorum: config.APPROVAL_QUORUM,
      requestedByUserId: ctx.principal.userId,
      requestedByApiKeyId: ctx.principal.apiKeyId,
      requestedByLabel: ctx.principal.label,
      requesterRef: ref as object,
      expiresAt: new Date(Date.now() + config.APPROVAL_EXPIRY_HOURS * 3600_000),
    },
    include: withDecisions,
  });
  await auditAs(ctx, "approval.request", `approval:${row.id}`, { action, argsSha256: sha, quorum: row.quorum, expiresAt: row.expiresAt.toISOString() });
  await notify({ kind: "approval.requested", approvalId: row.id, action, quorum: row.quorum, expiresAt: row.expiresAt.toISOString() }, { db: ctx.db });
  return view(ctx, row as ApprovalRecord);
}

/**
 * An admin asks for approval of an action that a command or another area's service carries out (POST
 * /api/approvals): restoring over a database, rotating the master key, KES keys, budgets, cubby grants.
 * The app's own actions (deleting, large runs) are asked for where they are started, whose checks apply.
 */
export async function requestCommandApproval(ctx: AccessContext, input: { action: string; args: unknown }): Promise<ApprovalView> {
  requireAdmin(ctx);
  const def = actionOrThrow(input.action);
  if (def.execute) {
    throw new ValidationError(`${def.action} is asked for where it is started (its route), not here.`, [{ path: "action", message: "use the action's own route" }]);
  }
  return requestApproval(ctx, input.action, input.args);
}

/** What a route answers (202) when the action it was asked for waits for approval. */
export function waitingForApproval(approval: ApprovalView): PendingApprovalAnswer {
  const n = approval.quorum - approval.approvals;
  return {
    status: "waiting_for_approval",
    message: `Waiting for approval: ${approval.summary}. ${n} approval${n === 1 ? "" : "s"} by an admin other than you needed before ${approval.expiresAt}.`,
    approval,
  };
}

/** Admins see every request; anyone else only their own. */
export async function listApprovals(ctx: AccessContext, q: { status?: ApprovalStatus; limit?: number } = {}): Promise<ApprovalView[]> {
  const own = ctx.isAdmin
    ? {}
    : ctx.principal.apiKeyId
      ? { requestedByApiKeyId: ctx.principal.apiKeyId }
      : { requestedByUserId: ctx.principal.userId ?? "00000000-0000-0000-0000-000000000000", requestedByApiKeyId: null };
  const rows = await ctx.db.prisma.approval.findMany({
    where: { ...own, ...(q.status ? { status: q.status } : {}) },
    orderBy: [{ createdAt: "desc" }, { id: "desc" }],
    take: Math.min(Math.max(q.limit ?? 100, 1), 500),
    include: withDecisions,
  });
  return rows.map((r) => view(ctx, r as ApprovalRecord));
}

export async function getApproval(ctx: AccessContext, id: string): Promise<ApprovalView> {
  const row = await load(ctx.db, id);
  if (!row || (!ctx.isAdmin && !isRequester(ctx, row))) throw new NotFoundError("Approval request");
  return view(ctx, row);
}

export interface DecisionInput {
  decision: "approve" | "reject";
  comment: string;
}

/**
 * An admin's decision. Refused: the requester deciding their own request (403), a second decision by the
 * same admin (409), a request no longer pending or past its expiry (409). The quorum's last approval
 * approves it and queues its execution; one rejection rejects it.
 */
export async function decideApproval(ctx: AccessContext, id: string, input: DecisionInput): Promise<ApprovalView> {
  requireAdmin(ctx);
  const me = ctx.principal.userId;
  if (!me) throw new ForbiddenError("Approvals are decided by a person.");
  const comment = input.comment.trim();
  if (!comment) throw new ValidationError("Say why in a comment.", [{ path: "comment", message: "must not be empty" }]);
  const outcome = await ctx.db.sql.transaction(async (tx) => {
    const row = await lockApproval(tx, id);
    if (!row) throw new NotFoundError("Approval request");
    if (row.requested_by_user_id === me) {
      throw new ForbiddenError("You asked for this action; another admin must decide it (no self-approval).");
    }
    if (row.status !== "pending") throw new ConflictError(`This request is ${row.status}; it can no longer be decided.`, { status: row.status });
    if (row.expired) throw new ConflictError("This request has expired; its action will not run. Ask again if it is still needed.", { status: "expired" });
    const inserted = await insertDecision(tx, { approvalId: id, userId: me, label: ctx.principal.label, decision: input.decision, comment });
    if (!inserted) throw new ConflictError("You have already decided this request.");
    let closed: "approved" | "rejected" | null = null;
    if (input.decision === "reject") closed = "rejected";
    else if ((await approvalCount(tx, id)) >= row.quorum) closed = "approved";
    if (closed && !(await closePending(tx, id, closed))) throw new ConflictError("This request changed while you decided; reload it.");
    return { action: row.action, closed };
  });
  await auditAs(ctx, "approval.decide", `approval:${id}`, { action: outcome.action, decision: input.decision, comment });
  if (outcome.closed) {
    await auditAs(ctx, `approval.${outcome.closed}`, `approval:${id}`, { action: outcome.action });
    await notify({ kind: "approval.decided", approvalId: id, action: outcome.action, status: outcome.closed }, { db: ctx.db });
    if (outcome.closed === "approved" && getApprovalAction(outcome.action)?.execute) await enqueue(executeApprovalJob, { approvalId: id });
  }
  return view(ctx, (await load(ctx.db, id))!);
}

export interface RunApprovedInput {
  approvalId: string;
  action: string;
  /** The arguments about to be used: they must hash to what was approved. */
  args: unknown;
  /** Who carries it out, for the record ("job", "cli:restore@host"). */
  executedBy: string;
}

/**
 * Carries out an approved action exactly once: checks that `action` and `args` are the approved ones
 * (409 otherwise, nothing runs), moves approved → executing by compare-and-set (409 when another process
 * or click got there first, or the request is not approved, or it expired), runs `fn` with the approved
 * arguments, and records executed or failed. `audit` names who did it (default: the system).
 */
export async function runApproved<T extends Record<string, unknown> | void>(
  db: Db,
  input: RunApprovedInput,
  fn: (args: Record<string, unknown>) => Promise<T>,
  opts: { ctx?: AccessContext } = {},
): Promise<T> {
  const row = UUID.test(input.approvalId) ? await readApproval(db.sql, input.approvalId) : null;
  if (!row) throw new NotFoundError(`Approval request ${input.approvalId}`);
  const record = (details: Record<string, unknown>, action: string) =>
    opts.ctx ? auditAs(opts.ctx, action, `approval:${row.id}`, details) : audit(db, null, action, `approval:${row.id}`, details);
  if (row.action !== input.action) {
    await record({ action: row.action, asked: input.action, reason: "another action" }, "approval.refused");
    throw new ConflictError(`Approval ${row.id} is for ${row.action}, not ${input.action}.`);
  }
  const def = actionOrThrow(row.action);
  const parsed = def.args.safeParse(input.args);
  const sha = parsed.success ? argsHash(row.action, parsed.data) : null;
  if (sha !== row.args_sha256) {
    await record({ action: row.action, reason: "other arguments", argsSha256: sha }, "approval.refused");
    throw new ConflictError("These are not the arguments that were approved; nothing was done. Ask for approval of the new arguments.", {
      approved: row.args_sha256,
      given: sha,
    });
  }
  if (!(await claimForExecution(db.sql, row.id, row.args_sha256, input.executedBy))) {
    const now = await readApproval(db.sql, row.id);
    const why = now?.status === "approved" && now.expired ? "expired" : now?.status ?? "gone";
    throw new ConflictError(
      why === "executing" || why === "executed" || why === "failed"
        ? `This approved action has already been carried out (${why}); it runs once.`
        : `This request is ${why}, not approved; nothing was done.`,
      { status: why },
    );
  }
  await record({ action: row.action, executedBy: input.executedBy }, "approval.execute");
  try {
    const result = await fn(row.args);
    await finishExecution(db.sql, row.id, { status: "executed", result: result ?? {} });
    await record({ action: row.action, result: result ?? {} }, "approval.executed");
    await notify({ kind: "approval.decided", approvalId: row.id, action: row.action, status: "executed" }, { db });
    return result;
  } catch (err) {
    const error = ((err as Error).message ?? String(err)).slice(0, 500);
    await finishExecution(db.sql, row.id, { status: "failed", error });
    await record({ action: row.action, error }, "approval.failed");
    await notify({ kind: "approval.decided", approvalId: row.id, action: row.action, status: "failed" }, { db });
    throw err;
  }
}

/**
 * Carries out an approved action that runs by itself, as its requester (their access now: a requester
 * since disabled or demoted fails closed). Returns the approval's view afterwards.
 */
export async function executeApproval(db: Db, approvalId: string): Promise<"executed" | "failed" | "skipped"> {
  const row = await readApproval(db.sql, approvalId);
  if (!row || row.status !== "approved") return "skipped";
  const def = actionOrThrow(row.action);
  if (!def.execute) return "skipped";
  let ctx: AccessContext;
  try {
    ctx = await accessContextForActor(db, row.requester_ref as ActorRef);
    requirePermission(ctx, def.permission);
    if (def.permission === "admin") requireAdmin(ctx);
  } catch (err) {
    // The requester lost the access the action needs: it must not run. Claim it so it is recorded once.
    if (await claimForExecution(db.sql, row.id, row.args_sha256, "job")) {
      await finishExecution(db.sql, row.id, { status: "failed", error: (err as Error).message });
      await audit(db, null, "approval.failed", `approval:${row.id}`, { action: row.action, error: (err as Error).message });
      await notify({ kind: "approval.decided", approvalId: row.id, action: row.action, status: "failed" }, { db });
      return "failed";
    }
    return "skipped";
  }
  try {
    await runApproved(db, { approvalId, action: row.action, args: row.args, executedBy: "job" }, (args) => def.execute!(ctx, args), { ctx });
    return "executed";
  } catch (err) {
    if (err instanceof ConflictError) return "skipped"; // another process carried it out
    log("warn", "approved action failed", { approvalId, action: row.action, error: (err as Error).message });
    return "failed";
  }
}

export const executeApprovalJob = defineJob<{ approvalId: string }>({
  name: "approvals.execute",
  // The action's own failure is recorded on the request; a retry could only find it no longer approved.
  retryLimit: 0,
  expireInSeconds: 1800,
  handler: async ({ approvalId }) => {
    await executeApproval(await getDb(), approvalId);
  },
});

export const approvalJobs = [executeApprovalJob];

/**
 * Expires requests past their time (pending, or approved and never carried out), each exactly once:
 * audited with the change itself, then notified by the process whose UPDATE changed it. The scheduler's
 * poll calls this.
 */
export async function expireApprovals(db: Db): Promise<string[]> {
  const expired = await expireDue(db.sql);
  for (const r of expired) {
    await notify({ kind: "approval.decided", approvalId: r.id, action: r.action, status: "expired" }, { db });
  }
  if (expired.length) log("info", "approval requests expired", { count: expired.length });
  return expired.map((r) => r.id);
}

/**
 * Carries out approved actions whose job never ran them (the queue was down when they were approved):
 * the scheduler's poll calls this; the compare-and-set in runApproved keeps it to once.
 */
export async function resumeApprovedActions(db: Db, olderThanSeconds = 120): Promise<number> {
  const runsByItself = APPROVAL_ACTIONS.filter((a) => a.execute).map((a) => a.action);
  let done = 0;
  for (const { id } of await approvedNotCarriedOut(db.sql, runsByItself, olderThanSeconds)) {
    if ((await executeApproval(db, id)) !== "skipped") done++;
  }
  return done;
}
