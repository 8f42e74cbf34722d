// The evaluation API on the real server: POST /api/evaluate/score (auth, validation, claims with verdicts
// and reasons, stored scores, the recorded error on persistent bad judge output), dataset import errors
// over HTTP, run start validation, human scores.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startApp, type RunningApp } from "@/tests/helpers/app";
import { makeApiKey, makeUser } from "@/tests/helpers/auth";
import { fakeJudge } from "@/tests/fakes/judge-fake";
import { startFakeOllama, type FakeOllama } from "@/tests/fakes/ollama";

let app: RunningApp;
let ollama: FakeOllama;
let scoreKey: Record<string, string>;
let scoreKeyId: string;
let evaluatorId: string;
let viewerKey: Record<string, string>;

const passages = [
  { text: "Expense reports are approved by the team lead. Reports above 1000 EUR also need finance approval.", title: "Expenses", url: "https://wiki.example/expenses" },
];
const body = {
  question: "Who approves expense reports?",
  output: "Expense reports are approved by the team lead [1]. Reports above 1000 EUR also need finance approval [1]. The CEO signs every report.",
  passages,
};

async function post(path: string, payload: unknown, headers: Record<string, string> = scoreKey) {
  const res = await fetch(`${app.baseUrl}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(payload),
  });
  return { status: res.status, body: await res.json() };
}

beforeAll(async () => {
  ollama = await startFakeOllama({ onChat: fakeJudge() });
  app = await startApp({ env: { OLLAMA_HOST: ollama.url, EVAL_JUDGE_RETRIES: "2" } });
  const evaluator = await makeUser(app.db!, "evaluator");
  evaluatorId = evaluator.id;
  ({ headers: scoreKey, id: scoreKeyId } = await makeApiKey(app.db!, ["score"], { creator: evaluator }));
  viewerKey = (await makeApiKey(app.db!, ["ask"])).headers;
});
afterAll(async () => {
  await app?.stop();
  await ollama?.close();
});

describe("POST /api/evaluate/score", () => {
  it("needs authentication and the score permission", async () => {
    expect((await post("/api/evaluate/score", body, {})).status).toBe(401);
    expect((await post("/api/evaluate/score", body, viewerKey)).status).toBe(403);
  });

  it("answers bad input with 400 naming the field", async () => {
    const noPassages = await post("/api/evaluate/score", { question: "Q?", output: "A." });
    expect(noPassages.status).toBe(400);
    expect(noPassages.body.error.details).toEqual([expect.objectContaining({ path: "passages", message: "give the source passages, or set retrieve: true" })]);
    const both = await post("/api/evaluate/score", { ...body, retrieve: true });
    expect(both.status).toBe(400);
    expect(both.body.error.details[0].path).toBe("retrieve");
    const extra = await post("/api/evaluate/score", { ...body, temperature: 1 });
    expect(extra.status).toBe(400);
    expect(extra.body.error.message).toMatch(/temperature/);
  });

  it("returns every claim with its verdict, passage and reason, and the metrics from the rule; stores the score", async () => {
    const r = await post("/api/evaluate/score", { ...body, reference: "The team lead approves expense reports. Finance approves reports above 1000 EUR." });
    expect(r.status).toBe(200);
    expect(r.body.claims).toEqual([
      { claim: "Expense reports are approved by the team lead.", verdict: "supported", passage: 1, reason: "Passage 1 states this.", relevant: true },
      { claim: "Reports above 1000 EUR also need finance approval.", verdict: "supported", passage: 1, reason: "Passage 1 states this.", relevant: true },
      { claim: "The CEO signs every report.", verdict: "not_found", passage: null, reason: "No passage mentions this.", relevant: true },
    ]);
    // 1 of 3 not found → u = 1/3 → 3.
    expect(r.body).toMatchObject({ status: "ok", hallucinationScore: 3, noClaims: false, counts: { total: 3, supported: 2, notFound: 1 } });
    expect(r.body.faithfulness).toBeCloseTo(2 / 3, 10);
    expect(r.body.contextRecall).toBe(1);
    expect(r.body.target.kind).toBe("external_output");
    const stored = await app.db!.prisma.score.findUniqueOrThrow({ where: { id: r.body.scoreId }, include: { externalOutput: true } });
    expect(stored).toMatchObject({
      kind: "judge",
      status: "ok",
      hallucinationScore: 3,
      judgeModel: "llama3.3:70b-instruct-q4_K_M",
      promptVersion: "judge-v1",
      externalOutputId: r.body.target.id,
    });
    expect(stored.externalOutput!.output).toBe(body.output);
    expect(stored.rawOutput).toContain('"verdict":"not_found"');
  });

  it("an output without factual claims gets a defined result", async () => {
    const r = await post("/api/evaluate/score", { ...body, output: "" });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ hallucinationScore: 5, faithfulness: 1, answerRelevance: null, noClaims: true, claims: [] });
  });

  it("links a score to the caller's own logged answer, and 404s an unknown one or someone else's", async () => {
    const log = await app.db!.prisma.queryLog.create({ data: { userId: evaluatorId, apiKeyId: scoreKeyId, question: body.question, questionSha256: "h", answer: body.output } });
    const ok = await post("/api/evaluate/score", { ...body, queryLogId: log.id });
    expect(ok.status).toBe(200);
    expect(ok.body.target).toEqual({ kind: "query_log", id: log.id });
    const missing = await post("/api/evaluate/score", { ...body, queryLogId: "00000000-0000-4000-8000-000000000000" });
    expect(missing.status).toBe(404);
    const someoneElses = await app.db!.prisma.queryLog.create({ data: { question: body.question, questionSha256: "h", answer: body.output } });
    expect((await post("/api/evaluate/score", { ...body, queryLogId: someoneElses.id })).status).toBe(404);
  });

  it("after persistent invalid judge output: 502 with the recorded error and raw text, no score value", async () => {
    const before = ollama.options.onChat;
    ollama.options.onChat = () => "I think the answer is mostly fine.";
    try {
      const r = await post("/api/evaluate/score", body);
      expect(r.status).toBe(502);
      expect(r.body.error.code).toBe("judge_invalid_output");
      expect(r.body.error.details).toMatchObject({ attempts: 3, rawOutput: "I think the answer is mostly fine." });
      const stored = await app.db!.prisma.score.findUniqueOrThrow({ where: { id: r.body.error.details.scoreId } });
      expect(stored).toMatchObject({ status: "error", hallucinationScore: null, rawOutput: "I think the answer is mostly fine." });
      expect(stored.error).toMatch(/invalid output 3 times/);
    } finally {
      ollama.options.onChat = before;
    }
  });
});

describe("datasets, runs and annotations over HTTP", () => {
  it("rejects a broken import with 422 listing lines, and creates nothing", async () => {
    const r = await post("/api/datasets/import", { format: "jsonl", name: "Broken", text: '{"question": "ok?"}\n{"nope": 1}\nnot json' });
    expect(r.status).toBe(422);
    expect(r.body.error.details).toEqual([
      { line: 2, message: "missing question" },
      { line: 3, message: expect.stringMatching(/^not valid JSON/) },
    ]);
    expect(await app.db!.prisma.dataset.count({ where: { name: "Broken" } })).toBe(0);
  });

  it("imports, exports and refuses to start a run of an unknown dataset", async () => {
    const r = await post("/api/datasets/import", { format: "csv", name: "HTTP set", text: "question,reference_answer\nWho approves expenses?,The team lead\n" });
    expect(r.status).toBe(201);
    const res = await fetch(`${app.baseUrl}/api/datasets/${r.body.id}/export?format=jsonl`, { headers: scoreKey });
    expect(res.headers.get("content-disposition")).toBe('attachment; filename="HTTP-set-v1.jsonl"');
    expect(await res.text()).toBe('{"question":"Who approves expenses?","reference_answer":"The team lead","expected_sources":[]}\n');
    const run = await post("/api/runs", { datasetId: "00000000-0000-4000-8000-000000000000" });
    expect(run.status).toBe(404);
    const bad = await post("/api/runs", { datasetId: "not-a-uuid" });
    expect(bad.status).toBe(400);
  });

  it("takes a human score 1–5 for a scored output and refuses anything else", async () => {
    const scored = await post("/api/evaluate/score", body);
    const target = { targetKind: "external_output", targetId: scored.body.target.id };
    expect((await post("/api/annotations", { ...target, hallucinationScore: 6 })).status).toBe(400);
    expect((await post("/api/annotations", { ...target, hallucinationScore: 2.5 })).status).toBe(400);
    expect((await post("/api/annotations", { ...target, targetId: "00000000-0000-4000-8000-000000000000", hallucinationScore: 3 })).status).toBe(404);
    const ok = await post("/api/annotations", { ...target, hallucinationScore: 3, comment: "CEO claim is made up" });
    expect(ok.status).toBe(201);
    const agreement = await (await fetch(`${app.baseUrl}/api/annotations/agreement`, { headers: scoreKey })).json();
    expect(agreement).toMatchObject({ n: 1, exact: 1, meanAbsoluteError: 0 });
  });
});
