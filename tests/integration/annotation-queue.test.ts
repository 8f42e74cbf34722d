// The annotation queue on a real database: newest unscored answer first, skip per evaluator, human scores,
// and agreement figures over items both scored.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AccessContext } from "@/lib/access/context";
import { agreementFigures, nextQueueItem, skipQueueItem, submitHumanScore } from "@/lib/evaluate/annotations";
import { storeJudgeScore } from "@/lib/evaluate/judge";
import { computeMetrics, type Verdict } from "@/lib/evaluate/scoring-rule";
import { accessOf, makeUser, type TestUser } from "@/tests/helpers/auth";
import { createTestDb, type TestDb } from "@/tests/helpers/db";
import { makeDocument, makeIngestTarget } from "@/tests/helpers/factories";

let db: TestDb;
let aliceUser: TestUser;
let alice: AccessContext;
let bob: AccessContext;
const outputs: string[] = [];

async function judged(question: string, verdicts: Verdict[], at: Date) {
  const ext = await db.prisma.externalOutput.create({
    data: { question, output: `answer to ${question}`, passages: [{ text: "passage", title: "P", url: null }], createdAt: at },
  });
  const claims = verdicts.map((verdict, i) => ({ claim: `c${i}`, verdict, passage: null, reason: "", relevant: true }));
  await storeJudgeScore(db.prisma, { kind: "external_output", id: ext.id }, {
    status: "ok", judgeModel: "m", promptVersion: "judge-v1", attempts: 1, metrics: computeMetrics(claims), claims, referenceClaims: null, truncated: false, rawOutput: "{}",
  });
  return ext.id;
}

beforeAll(async () => {
  db = await createTestDb();
  aliceUser = await makeUser(db, "evaluator");
  alice = await accessOf(db, aliceUser);
  bob = await accessOf(db, await makeUser(db, "evaluator"));
  // Judge scores 5, 3 and 1 (all supported / 1 of 2 not found / all not found).
  outputs.push(await judged("Q old", ["supported"], new Date("2026-01-01")));
  outputs.push(await judged("Q mid", ["supported", "not_found"], new Date("2026-01-02")));
  outputs.push(await judged("Q new", ["not_found"], new Date("2026-01-03")));
});
afterAll(() => db?.drop());

describe("annotation queue", () => {
  it("serves the newest answer without a human score, with its passages, and counts what is left", async () => {
    const item = await nextQueueItem(alice);
    expect(item).toMatchObject({ targetKind: "external_output", targetId: outputs[2], question: "Q new", remaining: 3 });
    expect(item!.passages).toEqual([{ title: "P", url: null, text: "passage" }]);
  });

  it("skip hides the item for that evaluator only", async () => {
    await skipQueueItem(alice, { targetKind: "external_output", targetId: outputs[2]! });
    expect((await nextQueueItem(alice))!.targetId).toBe(outputs[1]);
    expect((await nextQueueItem(bob))!.targetId).toBe(outputs[2]);
  });

  it("a human score takes the item out of everyone's queue and feeds the agreement figures", async () => {
    expect((await agreementFigures(alice)).n).toBe(0);
    await submitHumanScore(alice, { targetKind: "external_output", targetId: outputs[1]!, hallucinationScore: 3 });
    expect((await nextQueueItem(bob))!.targetId).toBe(outputs[2]);
    expect((await nextQueueItem(alice))!.targetId).toBe(outputs[0]);
    await submitHumanScore(alice, { targetKind: "external_output", targetId: outputs[0]!, hallucinationScore: 4 });
    await submitHumanScore(bob, { targetKind: "external_output", targetId: outputs[2]!, hallucinationScore: 3, comment: "partly right" });
    expect(await nextQueueItem(alice)).toBeNull();

    // Pairs (judge, human): (3,3), (5,4), (1,3). Weights (i−j)²/16. Observed: (0 + 1 + 4)/16/3 = 5/48.
    // Marginals: judge {1, 3, 5} each 1/3; human {3: 2/3, 4: 1/3}. Expected, per judge category i,
    //   Σ_j q_j (i−j)²: i=1 → 2/3·4 + 1/3·9 = 17/3; i=3 → 0 + 1/3·1 = 1/3; i=5 → 2/3·4 + 1/3·1 = 9/3;
    //   total 1/3 · 27/3 = 3, /16 = 3/16. kappa = 1 − (5/48)/(3/16) = 1 − 5/9 = 4/9.
    const a = await agreementFigures(alice);
    expect(a.n).toBe(3);
    expect(a.weightedKappa).toBeCloseTo(4 / 9, 10);
    expect(a.exact).toBeCloseTo(1 / 3, 10);
    expect(a.withinOne).toBeCloseTo(2 / 3, 10);
    expect(a.meanAbsoluteError).toBe(1);
    expect(a.mostDisagreeing.map((d) => [d.label, d.judge, d.human])).toEqual([["Q new", 1, 3], ["Q old", 5, 4]]);
  });

  it("serves logged answers from /api/evaluate with the passages they were built from", async () => {
    const where = await makeIngestTarget(db, { slug: "c", name: "C" });
    const col = { id: where.collectionId };
    const doc = await makeDocument(db, { ...where, externalId: "e", title: "Holidays", url: "https://wiki/h", chunks: [{ text: "Everyone gets 28 days.", tokenCount: 5 }] });
    const chunk = doc.chunks[0]!;
    alice = await accessOf(db, aliceUser); // contexts are per request: this one reads the new collection
    const log = await db.prisma.queryLog.create({
      data: {
        userId: aliceUser.id, collectionIds: [col.id], question: "How many holidays?", questionSha256: "q", answer: "28 days [1].",
        retrieved: [{ chunkId: chunk.id, rank: 1 }], createdAt: new Date("2026-02-01"),
      },
    });
    // Without the answer text (LOG_ANSWER_TEXT=false) a log cannot be scored by a person.
    await db.prisma.queryLog.create({ data: { userId: aliceUser.id, question: "Hidden?", questionSha256: "x", answer: null, createdAt: new Date("2026-03-01") } });
    const item = await nextQueueItem(alice);
    expect(item).toMatchObject({ targetKind: "query_log", targetId: log.id, question: "How many holidays?", answer: "28 days [1]." });
    expect(item!.passages).toEqual([{ title: "Holidays", url: "https://wiki/h", text: "Everyone gets 28 days." }]);
    await submitHumanScore(alice, { targetKind: "query_log", targetId: log.id, hallucinationScore: 5 });
    expect(await nextQueueItem(alice)).toBeNull();
  });

  it("uses the latest human score of an item", async () => {
    await submitHumanScore(alice, { targetKind: "external_output", targetId: outputs[2]!, hallucinationScore: 1 });
    const a = await agreementFigures(alice);
    expect(a.exact).toBeCloseTo(2 / 3, 10);
    expect(a.mostDisagreeing.map((d) => d.label)).toEqual(["Q old"]);
  });
});
