// Circuit breakers per run, on a real database with the real ask pipeline and judge over the fake Ollama:
// an evaluation run stops at its model-call limit as "stopped: limit reached" (its pending items kept,
// its calls in the ledger under the run), resumes with a new limit and completes; a run whose model keeps
// failing stops at its retry limit; a run in budget mode skips its judge and says so; an import stops at
// its limit and resumes. Refusals: resuming a run that is not stopped, or one the caller may not see.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AccessContext } from "@/lib/access/context";
import { resetConfig } from "@/lib/config";
import { setDb } from "@/lib/db/client";
import { createDataset } from "@/lib/evaluate/datasets";
import { getEvaluationRun, processEvaluationRun, resumeEvaluationRun, startEvaluationRun } from "@/lib/evaluate/runs";
import { seedDemoWiki } from "@/lib/ingest";
import { createImportJob, resumeImportJob, runImportJob } from "@/lib/ingest/import-jobs";
import { parseWith } from "@/lib/http/route";
import { closeQueue } from "@/lib/jobs/queue";
import { createScheduleBody } from "@/lib/schedules/rules";
import { getExecutor, syncHandedOffRuns } from "@/lib/schedules/engine";
import { createSchedule, getScheduleHistory, runScheduleNow } from "@/lib/schedules/service";
import { getLlm, resetLlm } from "@/lib/llm";
import { setBudget } from "@/lib/usage/budgets";
import { flushUsage } from "@/lib/usage/meter";
import { fakeJudge } from "@/tests/fakes/judge-fake";
import { startFakeOllama, type FakeOllama } from "@/tests/fakes/ollama";
import { accessOf, makeApiKey, makeUser } from "@/tests/helpers/auth";
import { createTestDb, type TestDb } from "@/tests/helpers/db";
import * as schedulesRoute from "@/app/api/schedules/route";
import * as scheduleRoute from "@/app/api/schedules/[id]/route";
import * as runNowRoute from "@/app/api/schedules/[id]/run-now/route";
import * as resumeRoute from "@/app/api/schedules/[id]/runs/[runId]/resume/route";

let db: TestDb;
let ollama: FakeOllama;
let admin: AccessContext;
let demo: { collectionId: string; sourceId: string };
let datasetId: string;
let failChat = false;

const QUESTIONS = [
  "How often are service credentials rotated in Vault?",
  "What share of traffic does the canary get during a deploy?",
  "How long does the pipeline watch the canary error rate?",
  "Who approves access requests?",
  "What is the on-call rotation?",
];

beforeAll(async () => {
  const judge = fakeJudge();
  ollama = await startFakeOllama({
    onChat: (req, i) => {
      if (failChat && !req.format) throw new Error("CUDA error: out of memory");
      return judge(req, i);
    },
  });
  Object.assign(process.env, { OLLAMA_HOST: ollama.url, EVAL_RUN_CONCURRENCY: "1", EVAL_JUDGE_RETRIES: "0", OLLAMA_BREAKER_FAILURES: "100" });
  resetConfig();
  resetLlm();
  db = await createTestDb();
  setDb(db);
  demo = await seedDemoWiki(db, { llm: getLlm() });
  admin = await accessOf(db, await makeUser(db, "admin"));
  datasetId = (await createDataset(admin, { name: "Limits", collectionIds: [demo.collectionId], items: QUESTIONS.map((question) => ({ question, referenceAnswer: null, expectedSources: [] })) })).id;
}, 120_000);
afterAll(async () => {
  await closeQueue();
  await ollama?.close();
  await db?.drop();
});

const ledger = async (runId: string) => {
  await flushUsage();
  return db.sql<{ op: string }>`SELECT op FROM model_usage WHERE evaluation_run_id = ${runId}::uuid ORDER BY id`;
};

describe("evaluation run limits", () => {
  it("stops at its model-call limit as 'stopped: limit reached', keeps the rest pending, and resumes to completion", async () => {
    // Each item makes two or three calls (embed, the answer unless nothing was found, judge): 7 calls end mid-way.
    const run = await startEvaluationRun(admin, { datasetId, maxModelCalls: 7 });
    await processEvaluationRun(db, run.id);
    const stopped = (await getEvaluationRun(admin, run.id))!;
    expect(stopped).toMatchObject({ status: "stopped", error: "stopped: limit reached (7 model calls)", modelCalls: 7 });
    expect((await ledger(run.id)).length).toBe(7);
    const pending = await db.prisma.runItem.count({ where: { runId: run.id, status: "pending" } });
    // The item cut off by the limit is pending again, not an error.
    expect(pending).toBeGreaterThan(0);
    expect(stopped.doneCount + pending).toBe(QUESTIONS.length);
    expect(await db.prisma.runItem.count({ where: { runId: run.id, status: "error" } })).toBe(0);

    // Not stopped any more once resumed; a second resume is refused.
    const resumed = await resumeEvaluationRun(admin, run.id, { maxModelCalls: 100 });
    expect(resumed).toMatchObject({ status: "queued", error: null, modelCalls: 0, limits: { maxModelCalls: 100 } });
    await expect(resumeEvaluationRun(admin, run.id, {})).rejects.toMatchObject({ status: 409 });
    await processEvaluationRun(db, run.id);
    const done = (await getEvaluationRun(admin, run.id))!;
    expect(done).toMatchObject({ status: "completed", doneCount: QUESTIONS.length });
    expect((await ledger(run.id)).filter((r) => r.op === "judge").length).toBe(QUESTIONS.length);
  });

  it("stops at its retry limit when the model keeps failing, instead of failing every item", async () => {
    const run = await startEvaluationRun(admin, { datasetId, maxRetries: 2 });
    failChat = true;
    try {
      await processEvaluationRun(db, run.id);
    } finally {
      failChat = false;
    }
    const stopped = (await getEvaluationRun(admin, run.id))!;
    expect(stopped.status).toBe("stopped");
    expect(stopped.error).toBe("stopped: limit reached (2 retries)");
    expect(await db.prisma.runItem.count({ where: { runId: run.id, status: "pending" } })).toBeGreaterThan(0);
  });

  it("skips the judge in budget mode and says so on the run", async () => {
    const starter = await makeUser(db, "evaluator");
    const ctx = await accessOf(db, starter);
    const budget = await setBudget(admin, { scopeKind: "user", scopeId: starter.id, metric: "tokens", period: "day", limit: 10_000_000, modeThreshold: 0.1 });
    await db.sql`UPDATE budgets SET used = 2000000 WHERE id = ${budget.id}::uuid`;
    const run = await startEvaluationRun(ctx, { datasetId });
    await processEvaluationRun(db, run.id);
    const done = (await getEvaluationRun(ctx, run.id))!;
    expect(done).toMatchObject({ status: "completed", error: `Judge skipped for ${QUESTIONS.length} of ${QUESTIONS.length} items (budget mode).` });
    expect((await ledger(run.id)).map((r) => r.op)).not.toContain("judge");
  });

  it("refuses to resume a run that is not stopped, or one the caller may not see", async () => {
    const run = await startEvaluationRun(admin, { datasetId });
    await expect(resumeEvaluationRun(admin, run.id, {})).rejects.toMatchObject({ status: 409 });
    const viewer = await accessOf(db, await makeUser(db, "viewer"));
    await expect(resumeEvaluationRun(viewer, run.id, {})).rejects.toMatchObject({ status: 403 });
  });
});

describe("schedule run limits", () => {
  it("a schedule run whose evaluation run reaches its limit ends as stopped too, and the run's calls carry the schedule", async () => {
    const s = await createSchedule(
      admin,
      parseWith(createScheduleBody, { name: "nightly limits", target: { kind: "evaluation_run", config: { datasetId } }, cron: "0 3 * * *", timeZone: "UTC" }, "body"),
    );
    process.env.RUN_MAX_MODEL_CALLS = "2";
    resetConfig();
    try {
      const run = await runScheduleNow(admin, s.id);
      await getExecutor(db).drain();
      const [handed] = await getScheduleHistory(admin, s.id);
      expect(handed).toMatchObject({ id: run.id, status: "running", result: { kind: "evaluation_run" } });
      await processEvaluationRun(db, handed!.result!.id);
      expect((await getEvaluationRun(admin, handed!.result!.id))!.status).toBe("stopped");
    } finally {
      delete process.env.RUN_MAX_MODEL_CALLS;
      resetConfig();
    }
    expect(await syncHandedOffRuns(db)).toBe(1);
    const [done] = await getScheduleHistory(admin, s.id);
    expect(done).toMatchObject({ status: "stopped", error: "stopped: limit reached (2 model calls); resume it on this page", resumable: true });
    await flushUsage();
    const rows = await db.sql<{ schedule_id: string }>`SELECT schedule_id::text FROM model_usage WHERE evaluation_run_id = ${done!.result!.id}::uuid`;
    expect(rows.map((r) => r.schedule_id)).toEqual([s.id, s.id]);

    // Resumed from the evaluation run's own page, not the schedule's: the schedule run follows it again and
    // ends as it does, instead of staying "stopped" beside a completed run.
    await resumeEvaluationRun(admin, done!.result!.id, { maxModelCalls: 0 });
    expect((await getScheduleHistory(admin, s.id))[0]).toMatchObject({ id: done!.id, status: "running", error: null });
    await processEvaluationRun(db, done!.result!.id);
    expect(await syncHandedOffRuns(db)).toBe(1);
    expect((await getScheduleHistory(admin, s.id))[0]).toMatchObject({ id: done!.id, status: "succeeded" });
  });
});

describe("a schedule's own limits", () => {
  const BASE = "http://sot.test";
  type Handler = (req: Request, ctx?: { params?: Promise<Record<string, string>> }) => Promise<Response>;
  /** Through the real route handler (the route wrapper: authentication, zod, errors → statuses). */
  async function call(handler: Handler, method: string, path: string, key: string, body?: unknown, params: Record<string, string> = {}) {
    const res = await handler(
      new Request(BASE + path, {
        method,
        headers: { authorization: `Bearer ${key}`, host: "sot.test", ...(body !== undefined ? { "content-type": "application/json" } : {}) },
        body: body === undefined ? undefined : JSON.stringify(body),
      }),
      { params: Promise.resolve(params) },
    );
    const text = await res.text();
    return { status: res.status, json: text ? JSON.parse(text) : null };
  }
  let key: string;
  beforeAll(async () => {
    key = (await makeApiKey(db, ["ask", "score", "import", "admin"], { creator: await makeUser(db, "admin") })).key;
  });

  it("refuses limits that are negative or not whole numbers with 400 naming the field, and writes nothing", async () => {
    const before = await db.prisma.schedule.count();
    const base = { name: "bad limits", target: { kind: "evaluation_run", config: { datasetId } }, cron: "0 3 * * *" };
    for (const [field, value] of [["maxModelCalls", -1], ["maxRetries", 1.5], ["maxRuntimeSeconds", "60"]] as const) {
      const res = await call(schedulesRoute.POST, "POST", "/api/schedules", key, { ...base, [field]: value });
      expect(res.status).toBe(400);
      expect(res.json.error.details).toEqual([expect.objectContaining({ path: field })]);
    }
    expect(await db.prisma.schedule.count()).toBe(before);
    const made = await call(schedulesRoute.POST, "POST", "/api/schedules", key, { ...base, maxModelCalls: 5 });
    expect(made.status).toBe(201);
    const bad = await call(scheduleRoute.PATCH, "PATCH", `/api/schedules/${made.json.id}`, key, { maxModelCalls: -3 }, { id: made.json.id });
    expect(bad.status).toBe(400);
    expect(bad.json.error.details).toEqual([expect.objectContaining({ path: "maxModelCalls" })]);
    expect((await db.prisma.schedule.findUniqueOrThrow({ where: { id: made.json.id } })).maxModelCalls).toBe(5);
  });

  it("stops a schedule run at the schedule's model-call limit, says so on the run, and resumes it to the end", async () => {
    const made = await call(schedulesRoute.POST, "POST", "/api/schedules", key, {
      name: "limited nightly",
      target: { kind: "evaluation_run", config: { datasetId } },
      cron: "0 3 * * *",
      maxModelCalls: 3,
      maxRetries: 4,
    });
    expect(made.status).toBe(201);
    expect(made.json.limits).toEqual({ maxModelCalls: 3, maxRetries: 4, maxRuntimeSeconds: null });
    const id = made.json.id as string;
    const started = await call(runNowRoute.POST, "POST", `/api/schedules/${id}/run-now`, key, undefined, { id });
    expect(started.status).toBe(202);
    await getExecutor(db).drain();
    const [handed] = await getScheduleHistory(admin, id);
    const evalRunId = handed!.result!.id;
    // The evaluation run it started carries the schedule's limits as its own.
    expect((await getEvaluationRun(admin, evalRunId))!.limits).toEqual({ maxModelCalls: 3, maxRetries: 4, maxRuntimeSeconds: null });
    await processEvaluationRun(db, evalRunId);
    await syncHandedOffRuns(db);
    const [stopped] = await getScheduleHistory(admin, id);
    expect(stopped).toMatchObject({ id: handed!.id, status: "stopped", error: "stopped: limit reached (3 model calls); resume it on this page", resumable: true });
    expect(stopped!.finishedAt).not.toBeNull();

    // Resumed through the API with a higher limit: the evaluation run goes on, the schedule run follows it again.
    const resume = (body: unknown) =>
      call(resumeRoute.POST, "POST", `/api/schedules/${id}/runs/${handed!.id}/resume`, key, body, { id, runId: handed!.id });
    const bad = await resume({ maxModelCalls: -1 });
    expect(bad.status).toBe(400);
    expect(bad.json.error.details).toEqual([expect.objectContaining({ path: "maxModelCalls" })]);
    const resumed = await resume({ maxModelCalls: 0 });
    expect(resumed.status).toBe(200);
    expect(resumed.json).toMatchObject({ id: handed!.id, status: "running", error: null, resumable: false });
    expect((await resume({})).status).toBe(409);
    expect((await getEvaluationRun(admin, evalRunId))!).toMatchObject({ status: "queued", limits: { maxModelCalls: 0, maxRetries: 4 } });
    await processEvaluationRun(db, evalRunId);
    expect(await syncHandedOffRuns(db)).toBe(1);
    const [done] = await getScheduleHistory(admin, id);
    expect(done).toMatchObject({ id: handed!.id, status: "succeeded", error: null });
    expect((await getEvaluationRun(admin, evalRunId))!.status).toBe("completed");
  });
});

describe("import limits", () => {
  it("stops an import at its model-call limit (nothing removed, the rest pending) and resumes it to the end", async () => {
    // The demo wiki imported again from nothing: every page needs embedding.
    await db.sql`DELETE FROM documents WHERE source_id = ${demo.sourceId}::uuid`;
    const { id } = await createImportJob(db, { sourceId: demo.sourceId, kind: "full", trigger: "manual" });
    await db.sql`UPDATE import_jobs SET max_model_calls = 1 WHERE id = ${id}::uuid`;
    const view = await runImportJob(db, id, { groupSize: 4 });
    expect(view).toMatchObject({ status: "stopped", error: "stopped: limit reached (1 model call)" });
    expect((await db.prisma.importJob.findUniqueOrThrow({ where: { id } })).modelCalls).toBe(1);
    expect(await db.prisma.importJobItem.count({ where: { jobId: id, kind: "page", status: "pending" } })).toBeGreaterThan(0);
    await flushUsage();
    const calls = await db.sql<{ op: string; principal_kind: string; label: string }>`SELECT op, principal_kind, label FROM model_usage WHERE import_job_id = ${id}::uuid`;
    expect(calls).toEqual([{ op: "embed", principal_kind: "system", label: expect.stringMatching(/^import of source /) }]);

    await expect(resumeImportJob(await accessOf(db, await makeUser(db, "viewer")), id)).rejects.toMatchObject({ status: 403 });
    await resumeImportJob(admin, id, { maxModelCalls: 0 });
    await expect(resumeImportJob(admin, id)).rejects.toMatchObject({ status: 409 });
    const finished = await runImportJob(db, id, { groupSize: 4 });
    expect(finished).toMatchObject({ status: "succeeded", error: null });
    expect(await db.prisma.importJobItem.count({ where: { jobId: id, kind: "page", status: "pending" } })).toBe(0);
  });

  it("records an import's model calls for the schedule whose run started it, and for no schedule otherwise", async () => {
    const s = await createSchedule(
      admin,
      parseWith(createScheduleBody, { name: "import owner", target: { kind: "evaluation_run", config: { datasetId } }, cron: "0 4 * * *", timeZone: "UTC" }, "body"),
    );
    const scheduleRun = await db.prisma.scheduleRun.create({ data: { scheduleId: s.id, trigger: "manual", claimedBy: "test" } });
    const callsOf = async (jobId: string) => {
      await flushUsage();
      return db.sql<{ schedule_id: string | null }>`SELECT schedule_id::text FROM model_usage WHERE import_job_id = ${jobId}::uuid`;
    };

    await db.sql`DELETE FROM documents WHERE source_id = ${demo.sourceId}::uuid`;
    const scheduled = await createImportJob(db, { sourceId: demo.sourceId, kind: "full", trigger: "schedule", scheduleRunId: scheduleRun.id });
    expect(await runImportJob(db, scheduled.id, { groupSize: 4 })).toMatchObject({ status: "succeeded" });
    const scheduledCalls = await callsOf(scheduled.id);
    expect(scheduledCalls.length).toBeGreaterThan(0);
    expect(new Set(scheduledCalls.map((r) => r.schedule_id))).toEqual(new Set([s.id]));

    await db.sql`DELETE FROM documents WHERE source_id = ${demo.sourceId}::uuid`;
    const manual = await createImportJob(db, { sourceId: demo.sourceId, kind: "full", trigger: "manual" });
    expect(await runImportJob(db, manual.id, { groupSize: 4 })).toMatchObject({ status: "succeeded" });
    const manualCalls = await callsOf(manual.id);
    expect(manualCalls.length).toBeGreaterThan(0);
    expect(manualCalls.every((r) => r.schedule_id === null)).toBe(true);
  });
});
