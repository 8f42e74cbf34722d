// Evaluation runs: a dataset version through the ask pipeline, each answer scored by the judge, with
// bounded concurrency. A run is a job on the queue, so it survives restarts: a retried job only works on
// items still pending, and each item's answer and score are written in one transaction.
import type { AccessContext } from "../access/context";
import { getConfig } from "../config";
import { getDb, type Db } from "../db/client";
import { ConflictError, NotFoundError, ValidationError } from "../errors";
import { defineJob, enqueue } from "../jobs/queue";
import { log } from "../log";
import { sendRunAlert } from "./alerts";
import { JUDGE_PROMPT_VERSION } from "./judge";
import { askPipeline, runContext, type AnswerFn, type PipelineSource } from "./pipeline";
import { runJudge, storeJudgeScore, type JudgeOptions } from "./score";

export type RunTrigger = "manual" | "api" | "schedule";

export interface StartRunInput {
  datasetId: string;
  trigger: RunTrigger;
  scheduleRunId?: string | null;
  /** Compare with this run; default: the dataset's latest completed run. */
  baselineRunId?: string | null;
  /** Default: the dataset's current version. */
  version?: number;
  createdById?: string | null;
  concurrency?: number;
}

const RUN_JOB_RETRIES = 2;

export const evaluationRunJob = defineJob<{ runId: string }>({
  name: "evaluate.run",
  handler: async ({ runId }, ctx) => {
    try {
      await processEvaluationRun(runId, { signal: ctx.signal });
    } catch (err) {
      // On the last attempt, say so on the run instead of leaving it "running" forever.
      if (ctx.retryCount >= RUN_JOB_RETRIES) await markRunFailed(runId, (err as Error).message);
      throw err;
    }
  },
  retryLimit: RUN_JOB_RETRIES,
  retryDelaySeconds: 30,
  // A 200-item run on a 70B model takes a while; the job must not be declared dead mid-run.
  expireInSeconds: 6 * 3600,
});

export const evaluateJobs = [evaluationRunJob];

/** Creates a run (its items copied from the dataset version) and queues it. For the UI, the API and the scheduler. */
export async function startEvaluationRun(
  input: StartRunInput,
  deps: { db?: Db; enqueueRun?: (runId: string) => Promise<unknown> } = {},
): Promise<{ kind: "evaluation_run"; id: string }> {
  const db = deps.db ?? (await getDb());
  const config = getConfig();
  const ds = await db.prisma.dataset.findUnique({ where: { id: input.datasetId } });
  if (!ds) throw new NotFoundError(`Dataset ${input.datasetId}`);
  const version = await db.prisma.datasetVersion.findUnique({
    where: { datasetId_version: { datasetId: ds.id, version: input.version ?? ds.currentVersion } },
    include: { items: { orderBy: { position: "asc" } } },
  });
  if (!version) throw new NotFoundError(`Version ${input.version} of dataset ${ds.name}`);
  if (version.items.length === 0) throw new ValidationError(`Dataset ${ds.name} (version ${version.version}) has no items to run.`);
  let baselineRunId = input.baselineRunId ?? null;
  if (baselineRunId) {
    const b = await db.prisma.evaluationRun.findUnique({ where: { id: baselineRunId }, select: { id: true } });
    if (!b) throw new NotFoundError(`Baseline run ${baselineRunId}`);
  } else {
    const last = await db.prisma.evaluationRun.findFirst({
      where: { datasetId: ds.id, status: "completed" },
      orderBy: { createdAt: "desc" },
      select: { id: true },
    });
    baselineRunId = last?.id ?? null;
  }
  const run = await db.prisma.$transaction(async (tx) => {
    const run = await tx.evaluationRun.create({
      data: {
        datasetId: ds.id,
        datasetVersionId: version.id,
        trigger: input.trigger,
        scheduleRunId: input.scheduleRunId ?? null,
        baselineRunId,
        judgeModel: config.OLLAMA_JUDGE_MODEL,
        promptVersion: JUDGE_PROMPT_VERSION,
        concurrency: input.concurrency ?? config.EVAL_RUN_CONCURRENCY,
        topK: config.EVAL_RETRIEVAL_K,
        itemCount: version.items.length,
        createdById: input.createdById ?? null,
      },
      select: { id: true },
    });
    await tx.runItem.createMany({
      data: version.items.map((it) => ({
        runId: run.id,
        datasetItemId: it.id,
        position: it.position,
        question: it.question,
        referenceAnswer: it.referenceAnswer,
        expectedSources: it.expectedSources,
      })),
    });
    return run;
  });
  try {
    await (deps.enqueueRun ?? ((runId: string) => enqueue(evaluationRunJob, { runId })))(run.id);
  } catch (err) {
    await db.prisma.evaluationRun.update({
      where: { id: run.id },
      data: { status: "failed", error: `Could not queue the run: ${(err as Error).message}`, finishedAt: new Date() },
    });
    throw err;
  }
  return { kind: "evaluation_run", id: run.id };
}

/** Whether any expected source is among the top k sources (null when the item expects none). */
export function retrievalHit(expected: readonly string[], sources: readonly PipelineSource[], k: number): boolean | null {
  if (expected.length === 0) return null;
  const want = new Set(expected.map((e) => e.trim().toLowerCase()));
  return sources.slice(0, k).some((s) =>
    [s.documentId, s.externalId, s.url, s.title].some((v) => v != null && want.has(String(v).trim().toLowerCase())),
  );
}

export interface ProcessDeps {
  db?: Db;
  answer?: AnswerFn;
  judge?: JudgeOptions;
  signal?: AbortSignal;
}

/** Works through a run's pending items, then records its averages and sends an alert if needed. */
export async function processEvaluationRun(runId: string, deps: ProcessDeps = {}): Promise<void> {
  const db = deps.db ?? (await getDb());
  const answer = deps.answer ?? askPipeline;
  const run = await db.prisma.evaluationRun.findUnique({ where: { id: runId } });
  if (!run) throw new NotFoundError(`Evaluation run ${runId}`);
  if (run.status === "completed" || run.status === "failed") return;
  await db.prisma.evaluationRun.update({
    where: { id: runId },
    data: { status: "running", startedAt: run.startedAt ?? new Date() },
  });
  const pending = await db.prisma.runItem.findMany({ where: { runId, status: "pending" }, orderBy: { position: "asc" } });
  const ctx = await runContext(db, run.createdById);

  let next = 0;
  const worker = async () => {
    while (next < pending.length) {
      if (deps.signal?.aborted) return;
      const item = pending[next++]!;
      await processItem(db, run, item, answer, ctx, deps);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(run.concurrency, pending.length)) }, worker));
  if (deps.signal?.aborted) return; // the job is retried; finished items stay finished
  await finishRun(db, runId);
}

type RunRow = NonNullable<Awaited<ReturnType<Db["prisma"]["evaluationRun"]["findUnique"]>>>;
type RunItemRow = Awaited<ReturnType<Db["prisma"]["runItem"]["findMany"]>>[number];

async function processItem(db: Db, run: RunRow, item: RunItemRow, answer: AnswerFn, ctx: AccessContext, deps: ProcessDeps) {
  const started = performance.now();
  try {
    const a = await answer(ctx, item.question, { signal: deps.signal });
    const latencyMs = Math.round(performance.now() - started);
    const judged = await runJudge(
      {
        question: item.question,
        output: a.answer,
        passages: a.sources.map((s) => ({ text: s.text, title: s.title, url: s.url })),
        reference: item.referenceAnswer,
      },
      { ...deps.judge, model: deps.judge?.model ?? run.judgeModel, signal: deps.signal },
    );
    await db.prisma.$transaction(async (tx) => {
      // Only a still-pending item is written: if an expired job's retry raced this worker to the same
      // item, the loser's answer and score are dropped instead of doubling the item's scores.
      const claimed = await tx.runItem.updateMany({
        where: { id: item.id, status: "pending" },
        data: {
          status: "ok",
          answer: a.answer,
          sources: a.sources.map((s) => ({ ...s })),
          retrievalHit: retrievalHit(item.expectedSources, a.sources, run.topK),
          latencyMs,
          promptTokens: a.promptTokens,
          completionTokens: a.completionTokens,
          queryLogId: a.queryLogId,
          error: judged.status === "error" ? judged.error : null,
          finishedAt: new Date(),
        },
      });
      if (claimed.count === 0) return;
      await storeJudgeScore(tx, { kind: "run_item", id: item.id }, judged);
      await tx.evaluationRun.update({ where: { id: run.id }, data: { doneCount: { increment: 1 } } });
    });
  } catch (err) {
    if (deps.signal?.aborted) return;
    log("warn", "evaluation item failed", { runId: run.id, position: item.position, error: (err as Error).message });
    await db.prisma.$transaction(async (tx) => {
      const claimed = await tx.runItem.updateMany({
        where: { id: item.id, status: "pending" },
        data: {
          status: "error",
          error: (err as Error).message.slice(0, 2000),
          latencyMs: Math.round(performance.now() - started),
          finishedAt: new Date(),
        },
      });
      if (claimed.count > 0) await tx.evaluationRun.update({ where: { id: run.id }, data: { doneCount: { increment: 1 } } });
    });
  }
}

async function markRunFailed(runId: string, message: string) {
  const db = await getDb();
  await db.prisma.evaluationRun.updateMany({
    where: { id: runId, status: { in: ["queued", "running"] } },
    data: { status: "failed", error: message.slice(0, 2000), finishedAt: new Date() },
  });
}

/** Averages over the run's items: judge scores that are ok; errors are items that failed or whose score is an error. */
async function finishRun(db: Db, runId: string) {
  const items = await db.prisma.runItem.findMany({
    where: { runId },
    select: { status: true, retrievalHit: true, scores: { where: { kind: "judge" }, orderBy: { createdAt: "desc" }, take: 1 } },
  });
  const judged = items.map((i) => i.scores[0]).filter((s) => s && s.status === "ok") as Array<NonNullable<(typeof items)[number]["scores"][number]>>;
  const avg = (xs: Array<number | null>) => {
    const v = xs.filter((x): x is number => x !== null);
    return v.length ? v.reduce((a, b) => a + b, 0) / v.length : null;
  };
  const hits = items.map((i) => i.retrievalHit).filter((h): h is boolean => h !== null);
  const errorCount = items.filter((i) => i.status === "error" || i.scores[0]?.status === "error").length;
  const summary = {
    avgHallucination: avg(judged.map((s) => s.hallucinationScore)),
    avgFaithfulness: avg(judged.map((s) => s.faithfulness)),
    avgAnswerRelevance: avg(judged.map((s) => s.answerRelevance)),
    avgContextRecall: avg(judged.map((s) => s.contextRecall)),
    retrievalHitRate: hits.length ? hits.filter(Boolean).length / hits.length : null,
    errorCount,
  };
  // Whoever completes the run first sends the alert; a racing duplicate finds it completed already.
  const completed = await db.prisma.evaluationRun.updateMany({
    where: { id: runId, status: "running" },
    data: { ...summary, status: "completed", finishedAt: new Date() },
  });
  if (completed.count === 0) return;
  const { itemCount } = await db.prisma.evaluationRun.findUniqueOrThrow({ where: { id: runId }, select: { itemCount: true } });
  const alert = await sendRunAlert({ id: runId, itemCount, errorCount, avgHallucination: summary.avgHallucination });
  await db.prisma.evaluationRun.update({ where: { id: runId }, data: { alertStatus: alert.status, alertError: alert.error ?? null } });
}

/** Status and figures of a run (for the scheduler and the API). */
export async function getEvaluationRun(id: string, db?: Db) {
  const d = db ?? (await getDb());
  const run = await d.prisma.evaluationRun.findUnique({
    where: { id },
    include: { dataset: { select: { name: true } }, datasetVersion: { select: { version: true } } },
  });
  if (!run) return null;
  return {
    kind: "evaluation_run" as const,
    id: run.id,
    status: run.status as "queued" | "running" | "completed" | "failed",
    datasetId: run.datasetId,
    datasetName: run.dataset.name,
    datasetVersion: run.datasetVersion.version,
    trigger: run.trigger,
    scheduleRunId: run.scheduleRunId,
    baselineRunId: run.baselineRunId,
    judgeModel: run.judgeModel,
    promptVersion: run.promptVersion,
    itemCount: run.itemCount,
    doneCount: run.doneCount,
    errorCount: run.errorCount,
    avgHallucination: run.avgHallucination,
    avgFaithfulness: run.avgFaithfulness,
    avgAnswerRelevance: run.avgAnswerRelevance,
    avgContextRecall: run.avgContextRecall,
    retrievalHitRate: run.retrievalHitRate,
    alertStatus: run.alertStatus,
    error: run.error,
    createdAt: run.createdAt,
    startedAt: run.startedAt,
    finishedAt: run.finishedAt,
  };
}

export async function listRuns(db: Db, opts: { datasetId?: string; limit?: number } = {}) {
  const runs = await db.prisma.evaluationRun.findMany({
    where: opts.datasetId ? { datasetId: opts.datasetId } : {},
    orderBy: { createdAt: "desc" },
    take: opts.limit ?? 100,
    include: { dataset: { select: { name: true } }, datasetVersion: { select: { version: true } } },
  });
  return runs.map((r) => ({
    id: r.id,
    datasetId: r.datasetId,
    datasetName: r.dataset.name,
    datasetVersion: r.datasetVersion.version,
    status: r.status,
    trigger: r.trigger,
    itemCount: r.itemCount,
    doneCount: r.doneCount,
    errorCount: r.errorCount,
    avgHallucination: r.avgHallucination,
    retrievalHitRate: r.retrievalHitRate,
    alertStatus: r.alertStatus,
    createdAt: r.createdAt,
    finishedAt: r.finishedAt,
  }));
}

/** Average hallucination score of completed runs, oldest first (the trend chart). */
export async function runTrend(db: Db, opts: { datasetId?: string; limit?: number } = {}) {
  const runs = await db.prisma.evaluationRun.findMany({
    where: { status: "completed", avgHallucination: { not: null }, ...(opts.datasetId ? { datasetId: opts.datasetId } : {}) },
    orderBy: { createdAt: "desc" },
    take: opts.limit ?? 50,
    select: { id: true, createdAt: true, avgHallucination: true, dataset: { select: { name: true } } },
  });
  return runs.reverse().map((r) => ({ id: r.id, at: r.createdAt, avg: r.avgHallucination!, dataset: r.dataset.name }));
}

const norm = (q: string) => q.trim().toLowerCase().replace(/\s+/g, " ");

/** A run's items with their judge and human scores, paired with the baseline run's items (by question). */
export async function getRunDetail(db: Db, runId: string, opts: { baselineRunId?: string | null } = {}) {
  const found = await getEvaluationRun(runId, db);
  if (!found) throw new NotFoundError(`Evaluation run ${runId}`);
  // Compare with another run when asked (the run page's baseline picker); default: the run's own baseline.
  const run = opts.baselineRunId !== undefined ? { ...found, baselineRunId: opts.baselineRunId } : found;
  if (run.baselineRunId && run.baselineRunId !== found.baselineRunId) {
    const b = await db.prisma.evaluationRun.findUnique({ where: { id: run.baselineRunId }, select: { id: true } });
    if (!b) throw new NotFoundError(`Baseline run ${run.baselineRunId}`);
  }
  const load = (id: string) =>
    db.prisma.runItem.findMany({
      where: { runId: id },
      orderBy: { position: "asc" },
      include: { scores: { orderBy: { createdAt: "desc" } } },
    });
  const items = await load(runId);
  const baselineItems = run.baselineRunId ? await load(run.baselineRunId) : [];
  const baseline = new Map(baselineItems.map((b) => [norm(b.question), b]));
  const judgeOf = (scores: (typeof items)[number]["scores"]) => scores.find((s) => s.kind === "judge") ?? null;
  const rows = items.map((it) => {
    const judge = judgeOf(it.scores);
    const human = it.scores.find((s) => s.kind === "human") ?? null;
    const b = baseline.get(norm(it.question));
    const bJudge = b ? judgeOf(b.scores) : null;
    const score = judge?.status === "ok" ? judge.hallucinationScore : null;
    const baselineScore = bJudge?.status === "ok" ? bJudge.hallucinationScore : null;
    const delta = score !== null && baselineScore !== null ? score - baselineScore : null;
    const regressions: string[] = [];
    if (delta !== null && delta <= -1) regressions.push(`score ${baselineScore} → ${score}`);
    if (b && b.retrievalHit === true && it.retrievalHit === false) regressions.push("expected source no longer retrieved");
    if (b && b.status === "ok" && bJudge?.status === "ok" && (it.status === "error" || judge?.status === "error")) regressions.push("now fails");
    return {
      id: it.id,
      position: it.position,
      question: it.question,
      referenceAnswer: it.referenceAnswer,
      status: it.status,
      answer: it.answer,
      sources: it.sources as unknown as PipelineSource[],
      retrievalHit: it.retrievalHit,
      latencyMs: it.latencyMs,
      promptTokens: it.promptTokens,
      completionTokens: it.completionTokens,
      error: it.error,
      judge: judge && {
        id: judge.id,
        status: judge.status,
        hallucinationScore: judge.hallucinationScore,
        faithfulness: judge.faithfulness,
        answerRelevance: judge.answerRelevance,
        contextRecall: judge.contextRecall,
        claims: judge.claims,
        error: judge.error,
        rawOutput: judge.rawOutput,
      },
      human: human && { hallucinationScore: human.hallucinationScore, comment: human.comment },
      baseline: b ? { itemId: b.id, hallucinationScore: baselineScore, retrievalHit: b.retrievalHit, status: b.status } : null,
      delta,
      regressions,
    };
  });
  return { run, items: rows, regressionCount: rows.filter((r) => r.regressions.length > 0).length };
}

/** Guard for starting a run while another of the same dataset is in flight (the UI asks first). */
export async function assertNoRunInFlight(db: Db, datasetId: string) {
  const busy = await db.prisma.evaluationRun.findFirst({ where: { datasetId, status: { in: ["queued", "running"] } }, select: { id: true } });
  if (busy) throw new ConflictError(`A run of this dataset is already in progress (${busy.id}).`, { runId: busy.id });
}
