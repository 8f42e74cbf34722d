// Approvals on real PostgreSQL with the real job queue: a risky action waits for an admin other than its
// requester, runs only with the arguments that were approved, runs once however many clicks or processes
// try, and an expired request fails closed. Every step is in the audit log.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AccessContext } from "@/lib/access/context";
import {
  decideApproval,
  executeApproval,
  expireApprovals,
  getApproval,
  resumeApprovedActions,
  listApprovals,
  requestApproval,
  requestCollectionDeletion,
  runApproved,
  startEvaluationRunOrAskApproval,
} from "@/lib/approvals";
import { argsHash } from "@/lib/approvals/hash";
import { resetConfig } from "@/lib/config";
import { generateMasterKey, resetKeyRing } from "@/lib/crypto/keys";
import { ConflictError, ForbiddenError, NotFoundError, ValidationError } from "@/lib/errors";
import { createDataset } from "@/lib/evaluate/datasets";
import type { JobQueue } from "@/lib/jobs/queue";
import { accessOf, makeUser } from "@/tests/helpers/auth";
import { createTestDb, type TestDb } from "@/tests/helpers/db";
import { installQueue, queuedJobs } from "@/tests/helpers/queue";

const saved = { ...process.env };
const item = (question: string, referenceAnswer: string | null = null) => ({ question, referenceAnswer, expectedSources: [] });
let db: TestDb;
let queue: JobQueue;
let requester: AccessContext;
let approverB: AccessContext;
let approverC: AccessContext;
let evaluator: AccessContext;
let evaluatorUserId: string;

async function auditCount(action: string, target: string): Promise<number> {
  return db.prisma.auditLog.count({ where: { action, target } });
}

async function newCollection(slug: string): Promise<string> {
  return (await db.prisma.collection.create({ data: { slug: `${slug}-${Date.now()}-${Math.random().toString(36).slice(2, 6)}`, name: slug } })).id;
}

beforeAll(async () => {
  const k = generateMasterKey();
  process.env.MASTER_KEYS = `${k.id}:${k.key.toString("base64")}`;
  process.env.APPROVAL_QUORUM = "1";
  process.env.APPROVAL_RUN_ITEMS = "2";
  resetConfig();
  resetKeyRing();
  db = await createTestDb();
  queue = await installQueue(db);
  requester = await accessOf(db, await makeUser(db, "admin"));
  approverB = await accessOf(db, await makeUser(db, "admin"));
  approverC = await accessOf(db, await makeUser(db, "admin"));
  const e = await makeUser(db, "evaluator");
  evaluatorUserId = e.id;
  evaluator = await accessOf(db, e);
}, 120_000);

afterAll(async () => {
  await queue?.stop();
  await db?.drop();
  process.env = { ...saved };
  resetConfig();
  resetKeyRing();
});

describe("deciding", () => {
  it("refuses self-approval, decisions by non-admins and decisions without a comment; another admin approves", async () => {
    const collectionId = await newCollection("self");
    const asked = await requestCollectionDeletion(requester, collectionId);
    expect(asked.status).toBe("waiting_for_approval");
    expect(asked.approval).toMatchObject({ action: "collection.delete", status: "pending", quorum: 1, approvals: 0, args: { collectionId } });
    const id = asked.approval.id;

    await expect(decideApproval(requester, id, { decision: "approve", comment: "mine, fine" })).rejects.toBeInstanceOf(ForbiddenError);
    await expect(decideApproval(evaluator, id, { decision: "approve", comment: "ok" })).rejects.toBeInstanceOf(ForbiddenError);
    await expect(decideApproval(approverB, id, { decision: "approve", comment: "   " })).rejects.toBeInstanceOf(ValidationError);
    expect((await getApproval(approverB, id)).status).toBe("pending");
    expect(await db.prisma.collection.count({ where: { id: collectionId } })).toBe(1);
    // The requester sees the request but may not decide it; another admin may.
    expect((await getApproval(requester, id)).canDecide).toBe(false);
    expect((await getApproval(approverB, id)).canDecide).toBe(true);

    const decided = await decideApproval(approverB, id, { decision: "approve", comment: "Checked: the collection is a test copy." });
    expect(decided).toMatchObject({ status: "approved", approvals: 1 });
    expect(decided.decisions).toEqual([expect.objectContaining({ approver: approverB.principal.label, decision: "approve", comment: "Checked: the collection is a test copy." })]);
    // Approval queued the execution job; here the test plays the worker.
    expect((await queuedJobs(db, "approvals.execute")).map((j) => j.data.approvalId)).toContain(id);
    expect(await executeApproval(db, id)).toBe("executed");
    expect(await db.prisma.collection.count({ where: { id: collectionId } })).toBe(0);
    expect(await getApproval(approverB, id)).toMatchObject({ status: "executed", executedBy: "job", result: { collectionId, documents: 0 } });
    for (const action of ["approval.request", "approval.decide", "approval.approved", "approval.execute", "approval.executed"]) {
      expect(await auditCount(action, `approval:${id}`), action).toBe(1);
    }
    expect(await auditCount("collection.delete", `collection:${collectionId}`)).toBe(1);
  });

  it("one rejection rejects: the action never runs", async () => {
    const collectionId = await newCollection("rejected");
    const { approval } = await requestCollectionDeletion(requester, collectionId);
    const rejected = await decideApproval(approverB, approval.id, { decision: "reject", comment: "This collection is in use." });
    expect(rejected.status).toBe("rejected");
    await expect(decideApproval(approverC, approval.id, { decision: "approve", comment: "late" })).rejects.toBeInstanceOf(ConflictError);
    expect(await executeApproval(db, approval.id)).toBe("skipped");
    expect(await db.prisma.collection.count({ where: { id: collectionId } })).toBe(1);
  });

  it("with a quorum of two, one admin's double click counts once and the request stays pending", async () => {
    process.env.APPROVAL_QUORUM = "2";
    resetConfig();
    try {
      const collectionId = await newCollection("quorum");
      const { approval } = await requestCollectionDeletion(requester, collectionId);
      expect(approval.quorum).toBe(2);
      const clicks = await Promise.allSettled([
        decideApproval(approverB, approval.id, { decision: "approve", comment: "ok" }),
        decideApproval(approverB, approval.id, { decision: "approve", comment: "ok" }),
      ]);
      expect(clicks.filter((c) => c.status === "fulfilled")).toHaveLength(1);
      const refused = clicks.find((c) => c.status === "rejected") as PromiseRejectedResult;
      expect(refused.reason).toBeInstanceOf(ConflictError);
      expect(await getApproval(approverC, approval.id)).toMatchObject({ status: "pending", approvals: 1 });
      expect(await decideApproval(approverC, approval.id, { decision: "approve", comment: "second pair of eyes" })).toMatchObject({ status: "approved", approvals: 2 });
    } finally {
      process.env.APPROVAL_QUORUM = "1";
      resetConfig();
    }
  });
});

describe("running once, with the approved arguments only", () => {
  it("refuses changed arguments and runs the approved ones exactly once", async () => {
    const { id } = await requestApproval(requester, "key.rotate", { backups: false });
    await decideApproval(approverB, id, { decision: "approve", comment: "quarterly rotation" });
    let runs = 0;
    const rotate = async () => {
      runs++;
      return { rotated: true };
    };
    // Another action, or the same action with other arguments: refused, nothing runs, still approved.
    await expect(runApproved(db, { approvalId: id, action: "key.rotate", args: { backups: true }, executedBy: "cli:test" }, rotate)).rejects.toThrow(/not the arguments that were approved/);
    await expect(runApproved(db, { approvalId: id, action: "backup.restore", args: { snapshotId: "x" }, executedBy: "cli:test" }, rotate)).rejects.toBeInstanceOf(ConflictError);
    expect(runs).toBe(0);
    expect((await getApproval(approverB, id)).status).toBe("approved");
    expect(await auditCount("approval.refused", `approval:${id}`)).toBe(2);
    // The stored hash is the hash of exactly what was approved.
    expect((await getApproval(approverB, id)).argsSha256).toBe(argsHash("key.rotate", { backups: false }));

    // The approved arguments, twice at the same moment (two operators, two processes): one runs.
    const both = await Promise.allSettled([
      runApproved(db, { approvalId: id, action: "key.rotate", args: { backups: false }, executedBy: "cli:one" }, rotate),
      runApproved(db, { approvalId: id, action: "key.rotate", args: { backups: false }, executedBy: "cli:two" }, rotate),
    ]);
    expect(runs).toBe(1);
    expect(both.filter((r) => r.status === "fulfilled")).toHaveLength(1);
    expect((both.find((r) => r.status === "rejected") as PromiseRejectedResult).reason).toBeInstanceOf(ConflictError);
    expect(await getApproval(approverB, id)).toMatchObject({ status: "executed", result: { rotated: true } });
    // And later: it has run; it does not run again.
    await expect(runApproved(db, { approvalId: id, action: "key.rotate", args: { backups: false }, executedBy: "cli:three" }, rotate)).rejects.toThrow(/already been carried out/);
    expect(runs).toBe(1);
    expect(await auditCount("approval.execute", `approval:${id}`)).toBe(1);
  });

  it("a double approve by two admins and two workers deletes the collection once", async () => {
    const collectionId = await newCollection("double");
    const { approval } = await requestCollectionDeletion(requester, collectionId);
    const decisions = await Promise.allSettled([
      decideApproval(approverB, approval.id, { decision: "approve", comment: "yes" }),
      decideApproval(approverC, approval.id, { decision: "approve", comment: "yes too" }),
    ]);
    // The first approval reaches the quorum; the second finds the request no longer pending.
    expect(decisions.filter((d) => d.status === "fulfilled")).toHaveLength(1);
    expect((decisions.find((d) => d.status === "rejected") as PromiseRejectedResult).reason).toBeInstanceOf(ConflictError);
    const outcomes = await Promise.all([executeApproval(db, approval.id), executeApproval(db, approval.id), executeApproval(db, approval.id)]);
    expect(outcomes.filter((o) => o === "executed")).toHaveLength(1);
    expect(outcomes.filter((o) => o === "skipped")).toHaveLength(2);
    expect(await db.prisma.collection.count({ where: { id: collectionId } })).toBe(0);
    expect(await auditCount("collection.delete", `collection:${collectionId}`)).toBe(1);
    expect(await auditCount("approval.execute", `approval:${approval.id}`)).toBe(1);
    expect((await queuedJobs(db, "approvals.execute")).filter((j) => j.data.approvalId === approval.id)).toHaveLength(1);
  });
});

describe("an approval whose job was lost", () => {
  it("is carried out by the scheduler's sweep, once, however many sweep at the same time", async () => {
    const collectionId = await newCollection("lost-job");
    const { approval } = await requestCollectionDeletion(requester, collectionId);
    await decideApproval(approverB, approval.id, { decision: "approve", comment: "go" });
    // Not yet overdue: the job may still be on its way.
    expect(await resumeApprovedActions(db)).toBe(0);
    await db.prisma.approval.update({ where: { id: approval.id }, data: { decidedAt: new Date(Date.now() - 5 * 60_000) } });
    const [one, two] = await Promise.all([resumeApprovedActions(db), resumeApprovedActions(db)]);
    expect(one + two).toBe(1);
    expect(await db.prisma.collection.count({ where: { id: collectionId } })).toBe(0);
    expect((await getApproval(approverB, approval.id)).status).toBe("executed");
    expect(await auditCount("collection.delete", `collection:${collectionId}`)).toBe(1);
  });
});

describe("expiry", () => {
  it("an expired request fails closed: no decision, no execution; it expires once", async () => {
    const pending = await requestApproval(requester, "key.rotate", { backups: true });
    const approved = await requestApproval(requester, "backup.restore", { snapshotId: "2026-12-04T00-00-00Z" });
    await decideApproval(approverB, approved.id, { decision: "approve", comment: "restore drill" });
    await db.prisma.approval.updateMany({ where: { id: { in: [pending.id, approved.id] } }, data: { expiresAt: new Date(Date.now() - 1000) } });

    // Before the sweep has run, the expiry already holds.
    await expect(decideApproval(approverB, pending.id, { decision: "approve", comment: "late" })).rejects.toThrow(/expired/);
    let ran = false;
    await expect(
      runApproved(db, { approvalId: approved.id, action: "backup.restore", args: { snapshotId: "2026-12-04T00-00-00Z" }, executedBy: "cli:test" }, async () => {
        ran = true;
      }),
    ).rejects.toThrow(/expired/);
    expect(ran).toBe(false);

    const first = await expireApprovals(db);
    expect(first.sort()).toEqual([pending.id, approved.id].sort());
    expect(await expireApprovals(db)).toEqual([]);
    for (const id of [pending.id, approved.id]) {
      expect((await getApproval(approverB, id)).status).toBe("expired");
      expect(await auditCount("approval.expire", `approval:${id}`)).toBe(1);
    }
  });
});

describe("an evaluation run over APPROVAL_RUN_ITEMS items", () => {
  it("waits for approval with the dataset version fixed, then runs as its requester; the requester sees only their own requests", async () => {
    const collectionId = await newCollection("eval");
    const evaluatorCtx = await accessOf(db, { id: evaluatorUserId });
    const small = await createDataset(evaluatorCtx, { name: "small", collectionIds: [collectionId], items: [item("a?"), item("b?")] });
    const big = await createDataset(evaluatorCtx, { name: "big", collectionIds: [collectionId], items: [item("a?"), item("b?"), item("c?")] });

    const direct = await startEvaluationRunOrAskApproval(evaluatorCtx, { datasetId: small.id });
    expect(direct.kind).toBe("run");

    const gated = await startEvaluationRunOrAskApproval(evaluatorCtx, { datasetId: big.id });
    if (gated.kind !== "approval") throw new Error("a 3-item run should wait for approval when APPROVAL_RUN_ITEMS=2");
    expect(gated.answer.approval).toMatchObject({ action: "evaluation.run", status: "pending", args: { datasetId: big.id, version: 1, baselineRunId: null, itemCount: 3 } });
    expect(gated.answer.message).toMatch(/Waiting for approval/);
    expect(await db.prisma.evaluationRun.count({ where: { datasetId: big.id } })).toBe(0);
    // A second click makes no second request.
    const again = await startEvaluationRunOrAskApproval(evaluatorCtx, { datasetId: big.id });
    expect(again.kind === "approval" && again.answer.approval.id).toBe(gated.answer.approval.id);

    // The evaluator sees their request, not the admins' ones; an admin sees all.
    const theirs = await listApprovals(evaluatorCtx);
    expect(theirs.map((a) => a.id)).toEqual([gated.answer.approval.id]);
    const someoneElses = (await listApprovals(approverB)).find((a) => a.id !== gated.answer.approval.id)!;
    await expect(getApproval(evaluatorCtx, someoneElses.id)).rejects.toBeInstanceOf(NotFoundError);

    await decideApproval(approverB, gated.answer.approval.id, { decision: "approve", comment: "Big run during the night is fine." });
    expect(await executeApproval(db, gated.answer.approval.id)).toBe("executed");
    const run = await db.prisma.evaluationRun.findFirstOrThrow({ where: { datasetId: big.id } });
    expect(run).toMatchObject({ itemCount: 3, createdById: evaluatorUserId, collectionIds: [collectionId] });
    expect((await getApproval(evaluatorCtx, gated.answer.approval.id)).result).toEqual({ runId: run.id, itemCount: 3 });
  });

  it("fails closed when the requester lost the access the action needs before it ran", async () => {
    const collectionId = await newCollection("demoted");
    const u = await makeUser(db, "evaluator");
    const ctx = await accessOf(db, u);
    const ds = await createDataset(ctx, { name: "x", collectionIds: [collectionId], items: [item("a?"), item("b?"), item("c?")] });
    const gated = await startEvaluationRunOrAskApproval(ctx, { datasetId: ds.id });
    if (gated.kind !== "approval") throw new Error("expected an approval");
    await decideApproval(approverB, gated.answer.approval.id, { decision: "approve", comment: "ok" });
    await db.prisma.user.update({ where: { id: u.id }, data: { role: "viewer" } });
    expect(await executeApproval(db, gated.answer.approval.id)).toBe("failed");
    expect(await db.prisma.evaluationRun.count({ where: { datasetId: ds.id } })).toBe(0);
    expect((await getApproval(approverB, gated.answer.approval.id)).status).toBe("failed");
  });
});
