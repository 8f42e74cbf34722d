// Evaluation runs end to end below HTTP: the demo wiki, the real ask pipeline and the judge over the fake
// Ollama, on a real database: per-item answers, sources, retrieval hits, scores, bounded concurrency,
// the recorded judge error, averages, baseline regressions and the alert webhook.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { resetConfig } from "@/lib/config";
import { setDb } from "@/lib/db/client";
import { createDataset } from "@/lib/evaluate/datasets";
import { scoreOutput } from "@/lib/evaluate/score";
import { accessContextFor } from "@/lib/access/context";
import { getEvaluationRun, getRunDetail, processEvaluationRun, retrievalHit, runTrend, startEvaluationRun } from "@/lib/evaluate/runs";
import { seedDemoWiki } from "@/lib/ingest";
import { getLlm, resetLlm } from "@/lib/llm";
import { fakeJudge, JUDGE_MARKER } from "../fakes/judge-fake";
import { startFakeOllama, type FakeChatRequest, type FakeOllama } from "../fakes/ollama";
import { makeUser } from "../helpers/auth";
import { createTestDb, type TestDb } from "../helpers/db";

let db: TestDb;
let ollama: FakeOllama;
let webhook: Server;
const alerts: unknown[] = [];
let datasetId: string;

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
  await seedDemoWiki(db, { llm: getLlm() });
  datasetId = (await createDataset(db, { name: "Ops", items: QUESTIONS.map((q) => ({ referenceAnswer: null, ...q })) }, null)).id;
});
afterAll(async () => {
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
    const started = await startEvaluationRun({ datasetId, trigger: "manual" }, { db, enqueueRun: async () => {} });
    expect(started.kind).toBe("evaluation_run");
    expect((await getEvaluationRun(started.id, db))!.status).toBe("queued");
    await processEvaluationRun(started.id, { db });

    expect(maxInFlight).toBeLessThanOrEqual(2);
    const run = (await getEvaluationRun(started.id, db))!;
    expect(run).toMatchObject({ status: "completed", itemCount: 4, doneCount: 4, errorCount: 1, datasetVersion: 1, promptVersion: "judge-v1" });

    const { items } = await getRunDetail(db, started.id);
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
    const second = await startEvaluationRun({ datasetId, trigger: "api" }, { db, enqueueRun: async () => {} });
    await processEvaluationRun(second.id, { db });
    const detail = await getRunDetail(db, second.id);
    expect(detail.run.baselineRunId).toBe(first);
    const [rotated, , , failing] = detail.items;
    expect(rotated!.judge!.hallucinationScore).toBe(1);
    expect(rotated!.delta).toBeLessThanOrEqual(-1);
    expect(rotated!.regressions[0]).toMatch(/^score \d → 1$/);
    // The item whose judge failed before now scores: not a regression.
    expect(failing!.regressions).toEqual([]);
    expect(detail.regressionCount).toBe(1);
    // Compared the other way round (the run page's baseline picker): the judge error is now the regression.
    const reverse = await getRunDetail(db, first, { baselineRunId: second.id });
    expect(reverse.items.map((i) => i.regressions)).toEqual([[], [], [], ["now fails"]]);
    const trend = await runTrend(db);
    expect(trend.map((t) => t.id)).toEqual([first, second.id]);
  });

  it("two workers racing on one run (an expired job's retry) never double an item's scores or the alert", async () => {
    ollama.options.onChat = fakeJudge();
    const before = alerts.length;
    const { id } = await startEvaluationRun({ datasetId, trigger: "manual" }, { db, enqueueRun: async () => {} });
    await Promise.all([processEvaluationRun(id, { db }), processEvaluationRun(id, { db })]);
    const run = (await getEvaluationRun(id, db))!;
    expect(run).toMatchObject({ status: "completed", doneCount: 4, itemCount: 4 });
    const perItem = await db.prisma.runItem.findMany({ where: { runId: id }, select: { _count: { select: { scores: true } } } });
    expect(perItem.map((i) => i._count.scores)).toEqual([1, 1, 1, 1]);
    expect(alerts.length - before).toBeLessThanOrEqual(1);
  });

  it("refuses to start runs of empty or unknown datasets", async () => {
    const empty = await createDataset(db, { name: "Empty" }, null);
    await expect(startEvaluationRun({ datasetId: empty.id, trigger: "manual" }, { db, enqueueRun: async () => {} })).rejects.toThrow(/has no items/);
    await expect(
      startEvaluationRun({ datasetId: "00000000-0000-4000-8000-000000000000", trigger: "manual" }, { db, enqueueRun: async () => {} }),
    ).rejects.toThrow(/not found/);
  });
});

describe("access", () => {
  it("asks a run's questions with its creator's access; schedule runs read everything", async () => {
    ollama.options.onChat = fakeJudge();
    const evaluator = await makeUser(db, "evaluator");
    const small = await createDataset(db, { name: "Access", items: [{ question: QUESTIONS[1]!.question, referenceAnswer: null, expectedSources: [] }] }, null);
    await db.prisma.collection.updateMany({ data: { restricted: true } });
    try {
      const mine = await startEvaluationRun({ datasetId: small.id, trigger: "manual", createdById: evaluator.id }, { db, enqueueRun: async () => {} });
      await processEvaluationRun(mine.id, { db });
      const scheduled = await startEvaluationRun({ datasetId: small.id, trigger: "schedule" }, { db, enqueueRun: async () => {} });
      await processEvaluationRun(scheduled.id, { db });
      expect((await getRunDetail(db, mine.id)).items[0]!.sources).toEqual([]);
      expect((await getRunDetail(db, scheduled.id)).items[0]!.sources.length).toBeGreaterThan(0);
    } finally {
      await db.prisma.collection.updateMany({ data: { restricted: false } });
    }
  });

  it("scores with `retrieve: true` using the wiki's own retrieval", async () => {
    ollama.options.onChat = fakeJudge();
    const viewer = await makeUser(db, "evaluator");
    const principal = {
      kind: "user" as const, userId: viewer.id, apiKeyId: null, label: viewer.email, role: "evaluator" as const,
      permissions: new Set(["ask", "score"] as const), collectionLimit: null,
    };
    const r = await scoreOutput(await accessContextFor(db, principal), { question: QUESTIONS[0]!.question, output: "Service credentials are rotated every 90 days.", retrieve: true });
    expect(r.passages.length).toBeGreaterThan(0);
    expect(r.passages.some((p) => p.title === "Rotating secrets")).toBe(true);
    expect(r.claims[0]).toMatchObject({ verdict: "supported" });
    expect(r.hallucinationScore).toBe(5);
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
