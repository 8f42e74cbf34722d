// Evaluation runs end to end below HTTP: the demo wiki, the real ask pipeline and the judge over the fake
// Ollama, on a real database: per-item answers, sources, retrieval hits, scores, bounded concurrency,
// the recorded judge error, averages, baseline regressions and the alert webhook; and whose access a run
// asks with (its starter's, a key's, a schedule's user's) and who may see it afterwards.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AccessContext } from "@/lib/access/context";
import { resetConfig } from "@/lib/config";
import { setDb } from "@/lib/db/client";
import { createDataset } from "@/lib/evaluate/datasets";
import { scoreOutput } from "@/lib/evaluate/judge";
import { getEvaluationRun, getRunDetail, listRuns, processEvaluationRun, retrievalHit, runTrend, startEvaluationRun } from "@/lib/evaluate/runs";
import { seedDemoWiki } from "@/lib/ingest";
import { closeQueue } from "@/lib/jobs/queue";
import { getLlm, resetLlm } from "@/lib/llm";
import { getExecutor } from "@/lib/schedules/engine";
import { createSchedule, getScheduleHistory, runScheduleNow } from "@/lib/schedules/service";
import { fakeJudge, JUDGE_MARKER } from "@/tests/fakes/judge-fake";
import { startFakeOllama, type FakeChatRequest, type FakeOllama } from "@/tests/fakes/ollama";
import { accessOf, keyAccessOf, makeApiKey, makeUser, type TestUser } from "@/tests/helpers/auth";
import { createTestDb, type TestDb } from "@/tests/helpers/db";
import { addMembers } from "@/tests/helpers/factories";
import { addCollection, addPages } from "@/tests/integration/ask-fixtures";
import { parseWith } from "@/lib/http/route";
import { createScheduleBody } from "@/lib/schedules/rules";

let db: TestDb;
let ollama: FakeOllama;
let webhook: Server;
const alerts: unknown[] = [];
let datasetId: string;
let adminUser: TestUser;
/** The admin's access, rebuilt after collections are added (a context is per request). */
let admin: AccessContext;
/** The demo wiki's collection, open to everyone, and a members-only one holding a secret. */
let demo: string;
let secret: string;
const SECRET = "The Falcon vault code is CANARY-7731-OSPREY.";
const SECRET_QUESTION = "What is the Falcon vault code?";

const isJudge = (r: FakeChatRequest) => (r.messages.find((m) => m.role === "system")?.content ?? "").startsWith(JUDGE_MARKER);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const QUESTIONS = [
  { question: "How often are service credentials rotated in Vault?", expectedSources: ["Rotating secrets"], referenceAnswer: "Service credentials are rotated every 90 days." },
  { question: "What share of traffic does the canary get during a deploy?", expectedSources: ["Deploying Tern"] },
  { question: "How long does the pipeline watch the canary error rate?", expectedSources: ["Nonexistent page"] },
  { question: "FAILJUDGE what happens when the canary error rate rises above 1%?", expectedSources: [] },
];

beforeAll(async () => {
  webhook = createServer((req, res) => {
    let raw = "";
    req.on("data", (d) => (raw += d));
    req.on("end", () => {
      alerts.push(JSON.parse(raw));
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => webhook.listen(0, "127.0.0.1", r));
  ollama = await startFakeOllama();
  Object.assign(process.env, {
    OLLAMA_HOST: ollama.url,
    EVAL_RUN_CONCURRENCY: "2",
    EVAL_JUDGE_RETRIES: "1",
    EVAL_ALERT_THRESHOLD: "5",
    EVAL_ALERT_WEBHOOK_URL: `http://127.0.0.1:${(webhook.address() as AddressInfo).port}/hook`,
    PUBLIC_URL: "https://sot.lan",
  });
  resetConfig();
  resetLlm();
  db = await createTestDb();
  setDb(db);
  demo = (await seedDemoWiki(db, { llm: getLlm() })).collectionId;
  const r = await addCollection(db, "falcon", true);
  secret = r.collectionId;
  await addPages(db, r, [{ title: "Falcon vault", sections: [{ heading: "Vault code", text: SECRET }] }]);
  adminUser = await makeUser(db, "admin");
  admin = await accessOf(db, adminUser);
  datasetId = (await createDataset(admin, { name: "Ops", collectionIds: [demo], items: QUESTIONS.map((q) => ({ referenceAnswer: null, ...q })) })).id;
});
afterAll(async () => {
  await getExecutor(db).drain();
  await closeQueue();
  await db?.drop();
  await ollama?.close();
  await new Promise((r) => webhook?.close(r));
});

describe("evaluation runs", () => {
  it("answers and scores every item with bounded concurrency, records judge errors, averages and alerts", async () => {
    let inFlight = 0;
    let maxInFlight = 0;
    const judge = fakeJudge({ malformed: (req) => req.messages[1]!.content.includes("FAILJUDGE") });
    ollama.options.onChat = async (req, i) => {
      maxInFlight = Math.max(maxInFlight, ++inFlight);
      await sleep(15);
      inFlight--;
      return isJudge(req) ? judge(req, i) : undefined; // the extractive fake answers ask's questions
    };
    const started = await startEvaluationRun(admin, { datasetId, trigger: "manual" }, { enqueueRun: async () => {} });
    expect(started.kind).toBe("evaluation_run");
    expect(started).toMatchObject({ status: "queued", collectionIds: [demo] });
    await processEvaluationRun(started.id, { db });

    expect(maxInFlight).toBeLessThanOrEqual(2);
    const run = (await getEvaluationRun(admin, started.id))!;
    expect(run).toMatchObject({ status: "completed", itemCount: 4, doneCount: 4, errorCount: 1, datasetVersion: 1, promptVersion: "judge-v1" });

    const { items } = await getRunDetail(admin, started.id);
    for (const it of items) {
      expect(it.status).toBe("ok");
      expect(it.answer).toBeTruthy();
      expect(it.sources.length).toBeGreaterThan(0);
      expect(it.latencyMs).toBeGreaterThanOrEqual(0);
      expect(it.promptTokens).toBeGreaterThan(0);
    }
    // Retrieval hits: expected page retrieved / not retrieved / nothing expected.
    expect(items.map((i) => i.retrievalHit)).toEqual([true, true, false, null]);
    // Three scored by the judge, the FAILJUDGE one recorded as an error with the raw text and no score.
    expect(items.slice(0, 3).map((i) => i.judge!.status)).toEqual(["ok", "ok", "ok"]);
    expect(items[3]!.judge).toMatchObject({ status: "error", hallucinationScore: null });
    expect(items[3]!.judge!.rawOutput).toBeTruthy();
    expect(items[3]!.error).toMatch(/invalid output 2 times/);
    expect(items[0]!.judge!.contextRecall).not.toBeNull(); // the item with a reference answer

    const scores = items.slice(0, 3).map((i) => i.judge!.hallucinationScore!);
    expect(run.avgHallucination).toBeCloseTo(scores.reduce((a, b) => a + b, 0) / 3, 10);
    expect(run.retrievalHitRate).toBeCloseTo(2 / 3, 10);
    // Each answer's query log is linked.
    expect(await db.prisma.queryLog.count({ where: { runItems: { some: { runId: started.id } } } })).toBe(4);

    // Average below 5 (the test threshold) and 1/4 errors > 10%: one alert with counts and a link, no wiki text.
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toMatchObject({ event: "evaluation_run.alert", runId: started.id, itemCount: 4, errorCount: 1, url: `https://sot.lan/evaluations/runs/${started.id}` });
    const text = JSON.stringify(alerts[0]);
    for (const q of QUESTIONS) expect(text).not.toContain(q.question.slice(0, 20));
    expect(text).not.toMatch(/Vault|canary/i);
    expect((await db.prisma.evaluationRun.findUniqueOrThrow({ where: { id: started.id } })).alertStatus).toBe("sent");
  });

  it("compares with the previous run as baseline and highlights regressions", async () => {
    // Second run: the judge now finds nothing in the sources for the first question.
    const judge = fakeJudge();
    ollama.options.onChat = (req, i) => {
      if (!isJudge(req)) return undefined;
      const normal = judge(req, i) as string;
      if (!req.messages[1]!.content.includes("service credentials rotated")) return normal;
      const parsed = JSON.parse(normal);
      for (const c of parsed.claims) Object.assign(c, { verdict: "not_found", passage: null });
      return JSON.stringify(parsed);
    };
    const first = (await db.prisma.evaluationRun.findFirstOrThrow({ where: { datasetId } })).id;
    const second = await startEvaluationRun(admin, { datasetId, trigger: "api" }, { enqueueRun: async () => {} });
    await processEvaluationRun(second.id, { db });
    const detail = await getRunDetail(admin, second.id);
    expect(detail.run.baselineRunId).toBe(first);
    const [rotated, , , failing] = detail.items;
    expect(rotated!.judge!.hallucinationScore).toBe(1);
    expect(rotated!.delta).toBeLessThanOrEqual(-1);
    expect(rotated!.regressions[0]).toMatch(/^score \d → 1$/);
    // The item whose judge failed before now scores: not a regression.
    expect(failing!.regressions).toEqual([]);
    expect(detail.regressionCount).toBe(1);
    // Compared the other way round (the run page's baseline picker): the judge error is now the regression.
    const reverse = await getRunDetail(admin, first, { baselineRunId: second.id });
    expect(reverse.items.map((i) => i.regressions)).toEqual([[], [], [], ["now fails"]]);
    const trend = await runTrend(admin);
    expect(trend.map((t) => t.id)).toEqual([first, second.id]);
  });

  it("two workers racing on one run (an expired job's retry) never double an item's scores or the alert", async () => {
    ollama.options.onChat = fakeJudge();
    const before = alerts.length;
    const { id } = await startEvaluationRun(admin, { datasetId, trigger: "manual" }, { enqueueRun: async () => {} });
    await Promise.all([processEvaluationRun(id, { db }), processEvaluationRun(id, { db })]);
    const run = (await getEvaluationRun(admin, id))!;
    expect(run).toMatchObject({ status: "completed", doneCount: 4, itemCount: 4 });
    const perItem = await db.prisma.runItem.findMany({ where: { runId: id }, select: { _count: { select: { scores: true } } } });
    expect(perItem.map((i) => i._count.scores)).toEqual([1, 1, 1, 1]);
    expect(alerts.length - before).toBeLessThanOrEqual(1);
  });

  it("refuses to start runs of empty or unknown datasets", async () => {
    const empty = await createDataset(admin, { name: "Empty" });
    await expect(startEvaluationRun(admin, { datasetId: empty.id, trigger: "manual" }, { enqueueRun: async () => {} })).rejects.toThrow(/has no items/);
    await expect(
      startEvaluationRun(admin, { datasetId: "00000000-0000-4000-8000-000000000000", trigger: "manual" }, { enqueueRun: async () => {} }),
    ).rejects.toThrow(/not found/);
  });
});

describe("access", () => {
  const noQueue = { enqueueRun: async () => {} };
  const sourceTexts = async (ctx: AccessContext, runId: string) => (await getRunDetail(ctx, runId)).items.flatMap((i) => i.sources.map((s) => s.text)).join("\n");
  const secretDataset = async (ctx: AccessContext, name: string, collectionIds?: string[]) =>
    (await createDataset(ctx, { name, collectionIds, items: [{ question: SECRET_QUESTION, referenceAnswer: null, expectedSources: [] }] })).id;

  it("an evaluator outside a run's collections cannot see it: 404, not listed (only counted), not in the trend", async () => {
    ollama.options.onChat = fakeJudge();
    const ds = await secretDataset(admin, "Falcon (admin)", [demo, secret]);
    const { id } = await startEvaluationRun(admin, { datasetId: ds }, noQueue);
    await processEvaluationRun(id, { db });
    // The control: the admin's run did read the secret page.
    expect(await sourceTexts(admin, id)).toContain(SECRET);

    const outsider = await accessOf(db, await makeUser(db, "evaluator"));
    await expect(getRunDetail(outsider, id)).rejects.toMatchObject({ status: 404 });
    expect(await getEvaluationRun(outsider, id)).toBeNull();
    const listed = await listRuns(outsider);
    expect(listed.runs.map((r) => r.id)).not.toContain(id);
    expect(listed.hidden).toBeGreaterThanOrEqual(1);
    expect((await runTrend(outsider)).map((t) => t.id)).not.toContain(id);
    // Nor may it be used as a baseline to peek at.
    const own = await startEvaluationRun(outsider, { datasetId }, noQueue);
    await expect(getRunDetail(outsider, own.id, { baselineRunId: id })).rejects.toMatchObject({ status: 404 });
    await expect(startEvaluationRun(outsider, { datasetId, baselineRunId: id }, noQueue)).rejects.toMatchObject({ status: 404 });

    // A member of the collection sees it.
    const member = await makeUser(db, "evaluator");
    await addMembers(db, secret, [member.id]);
    expect(await sourceTexts(await accessOf(db, member), id)).toContain(SECRET);
  });

  it("a key limited to one collection starts runs that read only that collection, and stop when the key is revoked", async () => {
    ollama.options.onChat = fakeJudge();
    const key = await makeApiKey(db, ["ask", "score"], { creator: adminUser, collectionIds: [demo] });
    const keyCtx = await keyAccessOf(db, key.key);
    // The admin's dataset over both collections is not the key's to see, let alone run.
    const both = await secretDataset(admin, "Falcon (both)", [demo, secret]);
    await expect(startEvaluationRun(keyCtx, { datasetId: both }, noQueue)).rejects.toMatchObject({ status: 404 });

    const ds = await secretDataset(keyCtx, "Falcon (key)");
    const run = await startEvaluationRun(keyCtx, { datasetId: ds }, noQueue);
    expect(run).toMatchObject({ trigger: "api", collectionIds: [demo] });
    expect(await db.prisma.evaluationRun.findUniqueOrThrow({ where: { id: run.id } })).toMatchObject({ createdById: adminUser.id, apiKeyId: key.id });
    await processEvaluationRun(run.id, { db });
    const detail = await getRunDetail(keyCtx, run.id);
    expect(detail.items[0]!.sources.length).toBeGreaterThan(0);
    const docs = await db.prisma.document.findMany({ where: { id: { in: detail.items[0]!.sources.map((s) => s.documentId!) } }, select: { collectionId: true } });
    expect(new Set(docs.map((d) => d.collectionId))).toEqual(new Set([demo]));
    expect(await sourceTexts(keyCtx, run.id)).not.toContain("CANARY-7731");

    // Revoked before its job runs: the run fails closed, it does not fall back to the key's creator.
    const queued = await startEvaluationRun(keyCtx, { datasetId: ds }, noQueue);
    await db.prisma.apiKey.update({ where: { id: key.id }, data: { revokedAt: new Date() } });
    await processEvaluationRun(queued.id, { db });
    const failed = (await getEvaluationRun(admin, queued.id))!;
    expect(failed).toMatchObject({ status: "failed", doneCount: 0 });
    expect(failed.error).toMatch(/^Not run: The API key that started this run no longer exists or is disabled/);
  });

  it("a run's job asks with its starter's access as it is when the job runs", async () => {
    ollama.options.onChat = fakeJudge();
    const evaluator = await makeUser(db, "evaluator");
    await addMembers(db, secret, [evaluator.id]);
    const ctx = await accessOf(db, evaluator);
    const ds = await secretDataset(ctx, "Falcon (member)");
    const readsIt = await startEvaluationRun(ctx, { datasetId: ds }, noQueue);
    const losesIt = await startEvaluationRun(ctx, { datasetId: ds }, noQueue);
    await processEvaluationRun(readsIt.id, { db });
    expect(await sourceTexts(admin, readsIt.id)).toContain(SECRET);

    // Membership ends before the second run's job: it no longer reads the collection.
    await db.prisma.collectionMember.deleteMany({ where: { collectionId: secret, userId: evaluator.id } });
    await processEvaluationRun(losesIt.id, { db });
    expect((await getEvaluationRun(admin, losesIt.id))!.status).toBe("completed");
    expect(await sourceTexts(admin, losesIt.id)).not.toContain("CANARY-7731");

    // Disabled: nothing runs at all.
    const last = await startEvaluationRun(await accessOf(db, evaluator), { datasetId }, noQueue);
    await db.prisma.user.update({ where: { id: evaluator.id }, data: { disabledAt: new Date() } });
    await processEvaluationRun(last.id, { db });
    expect((await getEvaluationRun(admin, last.id))!).toMatchObject({ status: "failed", error: expect.stringMatching(/^Not run: .*no longer exists or is disabled/) });
  });

  it("a scheduled run asks with the access of the user the schedule runs as, not every collection", async () => {
    ollama.options.onChat = fakeJudge();
    const evaluator = await makeUser(db, "evaluator");
    const ds = await secretDataset(admin, "Falcon (scheduled)", [demo]);
    const s = await createSchedule(admin, parseWith(createScheduleBody, { name: "nightly falcon", target: { kind: "evaluation_run", config: { datasetId: ds } }, cron: "0 3 * * *", runAsUserId: evaluator.id }, "body"));
    await runScheduleNow(admin, s.id);
    await getExecutor(db).drain();
    const [handed] = await getScheduleHistory(admin, s.id);
    expect(handed).toMatchObject({ status: "running", result: { kind: "evaluation_run" } });
    const runId = handed.result!.id;
    expect(await db.prisma.evaluationRun.findUniqueOrThrow({ where: { id: runId } })).toMatchObject({ createdById: evaluator.id, collectionIds: [demo] });
    await processEvaluationRun(runId, { db });
    const texts = await sourceTexts(admin, runId);
    expect(texts.length).toBeGreaterThan(0);
    expect(texts).not.toContain("CANARY-7731");
  });

  it("scores with `retrieve: true` using the wiki's own retrieval", async () => {
    ollama.options.onChat = fakeJudge();
    const ctx = await accessOf(db, await makeUser(db, "evaluator"));
    const r = await scoreOutput(ctx, { question: QUESTIONS[0]!.question, output: "Service credentials are rotated every 90 days.", retrieve: true });
    expect(r.passages.length).toBeGreaterThan(0);
    expect(r.passages.some((p) => p.title === "Rotating secrets")).toBe(true);
    expect(r.claims[0]).toMatchObject({ verdict: "supported" });
    expect(r.hallucinationScore).toBe(5);
    // The stored output is bound to what was retrieved over: the evaluator's collections.
    const stored = await db.prisma.externalOutput.findUniqueOrThrow({ where: { id: r.target.id } });
    expect(stored.collectionIds).toEqual(ctx.readableIds);
  });
});

describe("retrievalHit", () => {
  const src = (over: Partial<{ documentId: string; title: string; url: string }>) => ({
    n: 1, chunkId: "c", externalId: null, text: "t", documentId: "d1", title: "Page", url: null, ...over,
  });
  it("matches document id, title (case-insensitive) or URL within the top k only", () => {
    expect(retrievalHit(["page"], [src({})], 5)).toBe(true);
    expect(retrievalHit(["d1"], [src({})], 5)).toBe(true);
    expect(retrievalHit(["https://w/x"], [src({ url: "https://w/x" })], 5)).toBe(true);
    expect(retrievalHit(["Other"], [src({}), src({ title: "Other" })], 1)).toBe(false);
    expect(retrievalHit([], [src({})], 5)).toBeNull();
  });
});
