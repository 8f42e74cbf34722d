// Evaluation records carry scope (lib/evaluate/scope.ts), on a real database: the annotation queue,
// human scores, skips and agreement figures see only what the evaluator may read; a dataset is seen only
// by those who may read all its collections and changed only by its owner or an admin; "recent
// questions" are the viewer's own. Each case is arranged so that the old, unscoped code would fail it.
// Last, the migration's backfill of rows that existed before scope did.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AccessContext } from "@/lib/access/context";
import { agreementFigures, nextQueueItem, skipQueueItem, submitHumanScore, type TargetKind } from "@/lib/evaluate/annotations";
import {
  addQueryLogToDataset,
  createDataset,
  exportDataset,
  getDataset,
  importDataset,
  listDatasets,
  recentLoggedQuestions,
  updateDataset,
} from "@/lib/evaluate/datasets";
import { scoreOutput, storeJudgeScore } from "@/lib/evaluate/judge";
import { computeMetrics } from "@/lib/evaluate/scoring-rule";
import { accessOf, keyAccessOf, makeApiKey, makeUser, type TestUser } from "@/tests/helpers/auth";
import { beforeMigration, createTestDb, type TestDb } from "@/tests/helpers/db";
import { addMembers, makeCollection, makeDataset, makeFinishedRun } from "@/tests/helpers/factories";

let db: TestDb;
let open: string; // every signed-in user reads it
let secret: string; // members only
let adminUser: TestUser;
let memberUser: TestUser; // an evaluator who is a member of the secret collection
let outsiderUser: TestUser; // an evaluator who is not
const CANARY = "CANARY-4242-HERON";
/** Contexts are per request: build them after the arrangement they should see. */
const as = (u: TestUser) => accessOf(db, u);

async function judgeOk(target: { kind: "run_item" | "external_output" | "query_log"; id: string }) {
  const claims = [{ claim: "c", verdict: "supported" as const, passage: 1, reason: "", relevant: true }];
  await storeJudgeScore(db.prisma, target, {
    status: "ok", judgeModel: "m", promptVersion: "judge-v1", attempts: 1, metrics: computeMetrics(claims), claims, referenceClaims: null, truncated: false, rawOutput: "{}",
  });
}

/** A completed run bound to `collections`, with one answered item. */
async function runWithItem(collections: string[], question: string, sourceText: string) {
  const ds = await makeDataset(await as(adminUser), { name: `ds ${question}`, collectionIds: collections, questions: [question] });
  const run = await makeFinishedRun(db, {
    datasetId: ds.id,
    createdById: adminUser.id,
    collectionIds: collections,
    avgHallucination: 5,
    items: [{ question, answer: `answer: ${sourceText}`, sources: [{ n: 1, title: "T", url: null, text: sourceText }] }],
  });
  return { runId: run.id, itemId: run.items[0]!.id };
}

/** Every target the queue serves this context, newest first (skipping each to get the next). */
async function drainQueue(ctx: AccessContext): Promise<Array<{ kind: TargetKind; id: string; text: string }>> {
  const seen: Array<{ kind: TargetKind; id: string; text: string }> = [];
  for (let i = 0; i < 50; i++) {
    const item = await nextQueueItem(ctx);
    if (!item) break;
    seen.push({ kind: item.targetKind, id: item.targetId, text: JSON.stringify(item) });
    await skipQueueItem(ctx, { targetKind: item.targetKind, targetId: item.targetId });
  }
  return seen;
}

beforeAll(async () => {
  db = await createTestDb();
  open = (await makeCollection(db, { slug: "open", name: "Open" })).id;
  secret = (await makeCollection(db, { slug: "heron", name: "Heron", restricted: true })).id;
  adminUser = await makeUser(db, "admin");
  memberUser = await makeUser(db, "evaluator");
  outsiderUser = await makeUser(db, "evaluator");
  await addMembers(db, secret, [memberUser.id]);
});
afterAll(() => db?.drop());

describe("annotation queue, human scores and agreement", () => {
  let secretItem: { runId: string; itemId: string };
  let openItem: { runId: string; itemId: string };
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    secretItem = await runWithItem([open, secret], "Where is the heron nest?", `The nest is behind door ${CANARY}.`);
    openItem = await runWithItem([open], "Where is the canteen?", "The canteen is on floor 2.");
    ids.secretOutput = (await db.prisma.externalOutput.create({ data: { question: "Heron?", output: CANARY, collectionIds: [secret] } })).id;
    ids.openOutput = (await db.prisma.externalOutput.create({ data: { question: "Canteen?", output: "floor 2", collectionIds: [open] } })).id;
    // Logged answers: the member's over the secret collection; the outsider's own; someone else's over the open one.
    ids.memberSecretLog = (await db.prisma.queryLog.create({ data: { userId: memberUser.id, collectionIds: [open, secret], question: "heron?", questionSha256: "a", answer: CANARY } })).id;
    ids.outsiderLog = (await db.prisma.queryLog.create({ data: { userId: outsiderUser.id, collectionIds: [open], question: "canteen?", questionSha256: "b", answer: "floor 2" } })).id;
    ids.memberOpenLog = (await db.prisma.queryLog.create({ data: { userId: memberUser.id, collectionIds: [open], question: "my own question about lunch", questionSha256: "c", answer: "noon" } })).id;
  });

  it("never offers an evaluator an answer from a collection they may not read, nor another person's logged answer", async () => {
    const outsider = await drainQueue(await as(outsiderUser));
    expect(new Set(outsider.map((i) => i.id))).toEqual(new Set([openItem.itemId, ids.openOutput, ids.outsiderLog]));
    expect(outsider.map((i) => i.text).join()).not.toContain(CANARY);
    expect(outsider.map((i) => i.text).join()).not.toContain("my own question about lunch");

    // The member reads the secret collection: its run item and output, and their own logged answers.
    const member = await drainQueue(await as(memberUser));
    expect(new Set(member.map((i) => i.id))).toEqual(
      new Set([secretItem.itemId, openItem.itemId, ids.secretOutput, ids.openOutput, ids.memberSecretLog, ids.memberOpenLog]),
    );
    // An admin reads everything, everyone's logged answers included.
    expect((await drainQueue(await as(adminUser))).length).toBe(7);
  });

  it("refuses human scores and skips on what the evaluator may not read, as if it did not exist", async () => {
    const outsider = await as(outsiderUser);
    for (const [targetKind, targetId] of [
      ["run_item", secretItem.itemId],
      ["external_output", ids.secretOutput],
      ["query_log", ids.memberOpenLog],
    ] as Array<[TargetKind, string]>) {
      await expect(submitHumanScore(outsider, { targetKind, targetId, hallucinationScore: 1 })).rejects.toMatchObject({ status: 404 });
      await expect(skipQueueItem(outsider, { targetKind, targetId })).rejects.toMatchObject({ status: 404 });
    }
    expect(await db.prisma.score.count({ where: { kind: "human", userId: outsiderUser.id } })).toBe(0);
  });

  it("agreement figures count only pairs the viewer may read", async () => {
    for (const t of [{ kind: "run_item" as const, id: secretItem.itemId }, { kind: "run_item" as const, id: openItem.itemId }]) await judgeOk(t);
    const member = await as(memberUser);
    await submitHumanScore(member, { targetKind: "run_item", targetId: secretItem.itemId, hallucinationScore: 1 });
    await submitHumanScore(member, { targetKind: "run_item", targetId: openItem.itemId, hallucinationScore: 4 });

    const seenByMember = await agreementFigures(member);
    expect(seenByMember.n).toBe(2);
    expect(seenByMember.mostDisagreeing.map((d) => d.label)).toContain("Where is the heron nest?");
    const seenByOutsider = await agreementFigures(await as(outsiderUser));
    expect(seenByOutsider).toMatchObject({ n: 1, exact: 0, meanAbsoluteError: 1 });
    expect(JSON.stringify(seenByOutsider)).not.toMatch(/heron|CANARY/);
  });
});

describe("datasets", () => {
  it("are seen only by those who may read all their collections; the rest are counted, not shown", async () => {
    const ds = await createDataset(await as(memberUser), { name: "Heron questions", collectionIds: [open, secret], items: [{ question: `What is ${CANARY}?`, referenceAnswer: null, expectedSources: [] }] });
    const outsider = await as(outsiderUser);
    await expect(getDataset(outsider, ds.id)).rejects.toMatchObject({ status: 404 });
    await expect(exportDataset(outsider, ds.id, "csv")).rejects.toMatchObject({ status: 404 });
    await expect(updateDataset(outsider, ds.id, { name: "mine now" })).rejects.toMatchObject({ status: 404 });
    const listed = await listDatasets(outsider);
    expect(listed.datasets.map((d) => d.id)).not.toContain(ds.id);
    expect(listed.hidden).toBeGreaterThanOrEqual(1);
    expect((await listDatasets(await as(memberUser))).datasets.map((d) => d.id)).toContain(ds.id);
    // Nobody binds a dataset to a collection they may not read.
    await expect(createDataset(outsider, { name: "Sneaky", collectionIds: [secret] })).rejects.toMatchObject({ status: 403 });
  });

  it("are changed only by their owner or an admin: PATCH, new versions, imports and logged questions", async () => {
    const ownerCtx = await as(outsiderUser);
    const ds = await createDataset(ownerCtx, { name: "Canteen questions", items: [{ question: "Where is the canteen?", referenceAnswer: null, expectedSources: [] }] });
    expect(ds.collectionIds).toEqual([open]); // default: what the owner may read
    const other = await as(memberUser); // sees it (reads every collection of it), but it is not theirs
    expect((await getDataset(other, ds.id)).canEdit).toBe(false);
    await expect(updateDataset(other, ds.id, { name: "Hijacked" })).rejects.toMatchObject({ status: 403 });
    await expect(updateDataset(other, ds.id, { items: [] })).rejects.toMatchObject({ status: 403 });
    await expect(importDataset(other, { format: "jsonl", text: '{"question":"x?"}', datasetId: ds.id })).rejects.toMatchObject({ status: 403 });
    await expect(addQueryLogToDataset(other, ds.id, "00000000-0000-4000-8000-000000000000")).rejects.toMatchObject({ status: 403 });
    expect((await getDataset(ownerCtx, ds.id)).name).toBe("Canteen questions");
    // A key of the owner acts for the owner; an admin may change anyone's.
    const key = await makeApiKey(db, ["score"], { creator: outsiderUser });
    await expect(updateDataset(await keyAccessOf(db, key.key), ds.id, { description: "by key" })).resolves.toMatchObject({ description: "by key" });
    await expect(updateDataset(await as(adminUser), ds.id, { name: "Canteen (admin)" })).resolves.toMatchObject({ name: "Canteen (admin)", ownerId: outsiderUser.id });
  });

  it("recent questions are the viewer's own (an admin's: everyone's), within the dataset's collections", async () => {
    const mk = (userId: string, question: string, collectionIds: string[], apiKeyId: string | null = null) =>
      db.prisma.queryLog.create({ data: { userId, apiKeyId, question, collectionIds, questionSha256: question } });
    const key = await makeApiKey(db, ["ask"], { creator: outsiderUser });
    const own = await mk(outsiderUser.id, "outsider asks about parking", [open]);
    await mk(outsiderUser.id, "outsider asks with a script", [open], key.id);
    const others = await mk(memberUser.id, `member asks about ${CANARY}`, [open]);
    const wide = await mk(memberUser.id, "member asks over both", [open, secret]);

    const outsider = await as(outsiderUser);
    // (Newest first; "canteen?" is the outsider's own from the queue arrangement above.)
    expect((await recentLoggedQuestions(outsider)).map((l) => l.question)).toEqual(["outsider asks about parking", "canteen?"]);
    const member = await as(memberUser);
    expect((await recentLoggedQuestions(member, { within: [open] })).map((l) => l.question)).toEqual([`member asks about ${CANARY}`, "my own question about lunch"]);
    const adminSeen = (await recentLoggedQuestions(await as(adminUser), { limit: 100 })).map((l) => l.id);
    expect(adminSeen).toEqual(expect.arrayContaining([own.id, others.id, wide.id]));

    // Adding: someone else's log does not exist for you; your own log asked over more than the dataset is refused.
    const ds = await createDataset(member, { name: "Member's open set", collectionIds: [open] });
    await expect(addQueryLogToDataset(outsider, ds.id, own.id)).rejects.toMatchObject({ status: 403 }); // not the outsider's dataset
    await expect(addQueryLogToDataset(member, ds.id, own.id)).rejects.toMatchObject({ status: 404 });
    await expect(addQueryLogToDataset(member, ds.id, wide.id)).rejects.toMatchObject({ status: 422 });
    await expect(addQueryLogToDataset(member, ds.id, others.id)).resolves.toMatchObject({ version: 2 });
  });

  it("scoring a logged answer needs one the caller may read", async () => {
    const log = await db.prisma.queryLog.create({ data: { userId: memberUser.id, collectionIds: [open], question: "q", questionSha256: "q", answer: "a" } });
    await expect(
      scoreOutput(await as(outsiderUser), { question: "q", output: "a", passages: [{ text: "a" }], queryLogId: log.id }),
    ).rejects.toMatchObject({ status: 404 });
  });
});

describe("the scope migration's backfill of existing rows", () => {
  it("binds datasets, runs and external outputs to every collection, owns datasets by their creators, and names whom schedules run as", async () => {
    const before = await beforeMigration("_evaluation_scope");
    const { sql } = before;
    try {
      // Every migration before this one, then rows as they were, then this one.
      await sql.exec(`
        INSERT INTO users (id, email, role, created_at) VALUES
          ('00000000-0000-4000-8000-0000000000a1', 'first-admin@example.test', 'admin', '2026-01-01'),
          ('00000000-0000-4000-8000-0000000000a2', 'later-admin@example.test', 'admin', '2026-02-01'),
          ('00000000-0000-4000-8000-0000000000e1', 'evaluator@example.test', 'evaluator', '2026-03-01');
        INSERT INTO collections (id, slug, name, restricted, created_at) VALUES
          ('00000000-0000-4000-8000-0000000000c1', 'one', 'One', false, '2026-01-01'),
          ('00000000-0000-4000-8000-0000000000c2', 'two', 'Two', true, '2026-01-02');
        INSERT INTO datasets (id, name, created_by_id, updated_at) VALUES
          ('00000000-0000-4000-8000-0000000000d1', 'Old set', '00000000-0000-4000-8000-0000000000e1', now());
        INSERT INTO dataset_versions (id, dataset_id, version) VALUES
          ('00000000-0000-4000-8000-0000000000f1', '00000000-0000-4000-8000-0000000000d1', 1);
        INSERT INTO evaluation_runs (id, dataset_id, dataset_version_id, trigger, judge_model, prompt_version, concurrency, top_k) VALUES
          ('00000000-0000-4000-8000-0000000000b1', '00000000-0000-4000-8000-0000000000d1', '00000000-0000-4000-8000-0000000000f1', 'schedule', 'm', 'judge-v1', 1, 5);
        INSERT INTO external_outputs (id, question, output) VALUES ('00000000-0000-4000-8000-000000000011', 'q', 'o');
        INSERT INTO schedules (id, name, target_kind, interval_minutes) VALUES
          ('00000000-0000-4000-8000-000000000051', 'audited', 'backup', 60),
          ('00000000-0000-4000-8000-000000000052', 'unaudited', 'backup', 60);
        INSERT INTO audit_log (actor_user_id, actor_label, action, target) VALUES
          ('00000000-0000-4000-8000-0000000000a2', 'later-admin@example.test', 'schedule.create', 'schedule:00000000-0000-4000-8000-000000000051');`);
      await before.applyIt();

      const both = ["00000000-0000-4000-8000-0000000000c1", "00000000-0000-4000-8000-0000000000c2"];
      const [ds] = await sql.query<{ owner_id: string; collection_ids: string[] | string }>(`SELECT owner_id, collection_ids FROM datasets`);
      expect(ds).toMatchObject({ owner_id: "00000000-0000-4000-8000-0000000000e1" });
      const ids = (v: string[] | string) => (Array.isArray(v) ? v : v.replace(/[{}]/g, "").split(","));
      expect(ids(ds!.collection_ids)).toEqual(both);
      const [run] = await sql.query<{ collection_ids: string[] | string; api_key_id: string | null }>(`SELECT collection_ids, api_key_id FROM evaluation_runs`);
      expect(ids(run!.collection_ids)).toEqual(both);
      expect(run!.api_key_id).toBeNull();
      const [out] = await sql.query<{ collection_ids: string[] | string }>(`SELECT collection_ids FROM external_outputs`);
      expect(ids(out!.collection_ids)).toEqual(both);
      const schedules = await sql.query<{ name: string; run_as_user_id: string }>(`SELECT name, run_as_user_id FROM schedules ORDER BY name`);
      expect(schedules).toEqual([
        { name: "audited", run_as_user_id: "00000000-0000-4000-8000-0000000000a2" }, // its creator, from the audit log
        { name: "unaudited", run_as_user_id: "00000000-0000-4000-8000-0000000000a1" }, // the longest-standing active admin
      ]);
    } finally {
      await before.close();
    }
  });
});
