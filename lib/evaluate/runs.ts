// Evaluation runs: a dataset version through the ask pipeline, each answer scored by the judge, with
// bounded concurrency. A run is a job on the queue, so it survives restarts: a retried job only works on
// items still pending, and each item's answer and score are written in one transaction.
//
// Scope: a run is bound to the collections it asks over (its dataset's, narrowed to what its starter may
// read) and to the principal that started it (a user or a key, or the user a schedule runs as). The job
// re-resolves that principal every time it works (lib/access/context.ts accessContextForActor): never
// more than the starter may read at that moment, never more than the run's collections, and nothing at
// all once the starter is gone or disabled. Viewers see a run, its items and their scores only when they
// may read every collection it is bound to (lib/evaluate/scope.ts).
import { accessContextForActor, requirePermission, type AccessContext, type ActorRef } from "../access/context";
import { getConfig } from "../config";
import { getDb, type Db } from "../db/client";
import type { Prisma } from "../db/generated/client";
import { ConflictError, ForbiddenError, isAppError, NotFoundError, ValidationError } from "../errors";
import { defineJob, enqueue } from "../jobs/queue";
import { trackedRuns } from "../jobs/tracked-run";
import { log } from "../log";
import { notify } from "../notify";
import { sendRunAlert } from "./alerts";
import { JUDGE_PROMPT_VERSION } from "./judge-prompt";
import { askPipeline, type PipelineSource } from "./pipeline";
import { openPassages, sealPassages } from "./sealed-passages";
import { completedRunAverages, latestCompletedRunWithin, readableDatasetRow, runIdsReadable, runIsReadable } from "./queries";
import { narrowToReadable } from "./scope";
import type { TrendPoint } from "./types";
import { runJudge, storeJudgeScore } from "./judge";
import { effectiveLimits, isRunLimitReached, RunLimiter } from "../usage/run-limits";
import { usageScopeFor, withUsage } from "../usage/scope";
import { flushUsage } from "../usage/meter";
import { reopenStoppedRunOf } from "../schedules/queries";

export type EvaluationTrigger = "manual" | "api" | "schedule";

export interface StartRunInput {
  datasetId: string;
  /** Default: "api" when a key starts it, "manual" for a person. */
  trigger?: EvaluationTrigger;
  scheduleRunId?: string | null;
  /** Compare with this run; default: the dataset's latest completed run within the same collections. */
  baselineRunId?: string | null;
  /** Default: the dataset's current version. */
  version?: number;
  concurrency?: number;
  /** Run limits (default: the RUN_MAX_* settings); reaching one stops the run, resumable. */
  maxModelCalls?: number | null;
  maxRetries?: number | null;
  maxRuntimeSeconds?: number | null;
}

const RUN_JOB_RETRIES = 2;
const evaluationRuns = trackedRuns("evaluation");

export const evaluationRunJob = defineJob<{ runId: string }>({
  name: "evaluate.run",
  handler: async ({ runId }, ctx) => {
    try {
      await processEvaluationRun(await getDb(), runId, { signal: ctx.signal });
    } catch (err) {
      // On the last attempt, say so on the run instead of leaving it "running" forever.
      if (ctx.retryCount >= RUN_JOB_RETRIES) await markRunFailed(await getDb(), runId, (err as Error).message);
      throw err;
    }
  },
  retryLimit: RUN_JOB_RETRIES,
  retryDelaySeconds: 30,
  // A 200-item run on a 70B model takes a while; the job must not be declared dead mid-run.
  expireInSeconds: 6 * 3600,
});

export const evaluateJobs = [evaluationRunJob];

/** Whether the caller may see the run (every collection it is bound to readable). */
function readableRunId(ctx: AccessContext, runId: string): Promise<boolean> {
  return runIsReadable(ctx.db.sql, ctx, runId);
}

/**
 * Creates a run (its items copied from the dataset version) and queues it, as the caller: a person, a key,
 * or the user a schedule runs as. The dataset must be one the caller may see (404 otherwise).
 */
export async function startEvaluationRun(ctx: AccessContext, input: StartRunInput): Promise<EvaluationRunView> {
  requirePermission(ctx, "score");
  const { db, principal } = ctx;
  if (!principal.userId && !principal.apiKeyId) {
    throw new ForbiddenError("Evaluation runs are started by a person or an API key, whose access the run asks with.");
  }
  const config = getConfig();
  const ds = await readableDatasetRow(db.sql, ctx, input.datasetId);
  if (!ds) throw new NotFoundError(`Dataset ${input.datasetId}`);
  const version = await db.prisma.datasetVersion.findUnique({
    where: { datasetId_version: { datasetId: ds.id, version: input.version ?? ds.currentVersion } },
    include: { items: { orderBy: { position: "asc" } } },
  });
  if (!version) throw new NotFoundError(`Version ${input.version} of dataset ${ds.name}`);
  if (version.items.length === 0) throw new ValidationError(`Dataset ${ds.name} (version ${version.version}) has no items to run.`);
  // What the run asks over: the dataset's collections that the starter may read now.
  const collectionIds = narrowToReadable(ctx, ds.collectionIds);
  let baselineRunId = input.baselineRunId ?? null;
  if (baselineRunId) {
    if (!(await readableRunId(ctx, baselineRunId))) throw new NotFoundError(`Baseline run ${baselineRunId}`);
  } else {
    // The default baseline is one whoever may see this run may see too: within the same collections.
    baselineRunId = await latestCompletedRunWithin(db.sql, ds.id, collectionIds);
  }
  const run = await db.prisma.$transaction(async (tx) => {
    const run = await tx.evaluationRun.create({
      data: {
        datasetId: ds.id,
        datasetVersionId: version.id,
        trigger: input.trigger ?? (principal.kind === "api_key" ? "api" : "manual"),
        scheduleRunId: input.scheduleRunId ?? null,
        baselineRunId,
        judgeModel: config.OLLAMA_JUDGE_MODEL,
        promptVersion: JUDGE_PROMPT_VERSION,
        concurrency: input.concurrency ?? config.EVAL_RUN_CONCURRENCY,
        topK: config.EVAL_RETRIEVAL_K,
        itemCount: version.items.length,
        createdById: principal.userId,
        apiKeyId: principal.kind === "api_key" ? principal.apiKeyId : null,
        collectionIds,
        maxModelCalls: input.maxModelCalls ?? null,
        maxRetries: input.maxRetries ?? null,
        maxRuntimeSeconds: input.maxRuntimeSeconds ?? null,
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
    await enqueue(evaluationRunJob, { runId: run.id });
  } catch (err) {
    await evaluationRuns.fail(db.sql, run.id, `Could not queue the run: ${(err as Error).message}`);
    throw err;
  }
  return (await getEvaluationRun(ctx, run.id))!;
}

/** Whether any expected source is among the top k sources (null when the item expects none). */
export function retrievalHit(expected: readonly string[], sources: readonly PipelineSource[], k: number): boolean | null {
  if (expected.length === 0) return null;
  const want = new Set(expected.map((e) => e.trim().toLowerCase()));
  return sources.slice(0, k).some((s) =>
    [s.documentId, s.externalId, s.url, s.title].some((v) => v != null && want.has(String(v).trim().toLowerCase())),
  );
}

/** What the run's job re-resolves: the principal that started it, narrowed to the run's collections. */
export function runActor(run: { createdById: string | null; apiKeyId: string | null; collectionIds: string[] }): ActorRef {
  return {
    userId: run.createdById,
    apiKeyId: run.apiKeyId,
    collectionIds: run.collectionIds,
    label: run.apiKeyId ? "The API key that started this run" : "The person this run was started as",
  };
}

/** Works through a run's pending items, then records its averages and sends an alert if needed. */
export async function processEvaluationRun(db: Db, runId: string, opts: { signal?: AbortSignal } = {}): Promise<void> {
  const run = await db.prisma.evaluationRun.findUnique({ where: { id: runId } });
  if (!run) throw new NotFoundError(`Evaluation run ${runId}`);
  if (run.status === "completed" || run.status === "failed") return;
  // The starter's access as it is now; a starter who is gone, disabled or no longer an evaluator ends
  // the run here, with the reason on the run (retrying would not change it).
  let ctx: AccessContext;
  try {
    ctx = await accessContextForActor(db, runActor(run));
    requirePermission(ctx, "score");
  } catch (err) {
    if (!isAppError(err) || err.status !== 403) throw err;
    await markRunFailed(db, runId, `Not run: ${err.message}`);
    return;
  }
  // Resumable: a queue retry takes the run that is still "running" and works through its pending items.
  if (!(await evaluationRuns.claim(db.sql, runId, { resume: true }))) return;
  const pending = await db.prisma.runItem.findMany({ where: { runId, status: "pending" }, orderBy: { position: "asc" } });

  // Every model call of the run is recorded for its starter, the run and its schedule, and counted
  // against the run's limits (lib/usage/run-limits.ts).
  const limiter = new RunLimiter(effectiveLimits({ maxModelCalls: run.maxModelCalls, maxRetries: run.maxRetries, maxRuntimeSeconds: run.maxRuntimeSeconds }));
  limiter.modelCalls = run.modelCalls;
  limiter.retries = run.retries;
  const scheduleId = run.scheduleRunId
    ? ((await db.prisma.scheduleRun.findUnique({ where: { id: run.scheduleRunId }, select: { scheduleId: true } }).catch(() => null))?.scheduleId ?? null)
    : null;
  const scope = usageScopeFor(ctx, { evaluationRunId: runId, scheduleId, limiter });
  const counters = () => ({ model_calls: limiter.modelCalls, retries: limiter.retries });

  let next = 0;
  const worker = async () => {
    while (next < pending.length) {
      if (opts.signal?.aborted || limiter.reached) return;
      try {
        limiter.check();
      } catch {
        return;
      }
      const item = pending[next++]!;
      await processItem(db, run, item, ctx, opts.signal, limiter);
      await evaluationRuns.progress(db.sql, runId, counters());
    }
  };
  await withUsage(scope, () => Promise.all(Array.from({ length: Math.max(1, Math.min(run.concurrency, pending.length)) }, worker)));
  await flushUsage(); // the run's ledger rows are in before it is reported finished
  if (limiter.reached) {
    // Not a failure: the run ends as stopped, its pending items kept for a resume.
    await evaluationRuns.stop(db.sql, runId, limiter.stopMessage!, counters());
    log("warn", "evaluation run stopped at its limit", { runId, reason: limiter.reached });
    return;
  }
  if (opts.signal?.aborted) return; // the job is retried; finished items stay finished
  await completeEvaluationRun(db, runId);
}

/**
 * Resumes a run that stopped at a limit: its pending items are worked through again, with the counts
 * starting from zero and, when given, new limits. The caller must be able to see the run (404 otherwise).
 */
export async function resumeEvaluationRun(
  ctx: AccessContext,
  id: string,
  limits: { maxModelCalls?: number | null; maxRetries?: number | null; maxRuntimeSeconds?: number | null } = {},
): Promise<EvaluationRunView> {
  requirePermission(ctx, "score");
  const run = await getEvaluationRun(ctx, id);
  if (!run) throw new NotFoundError(`Evaluation run ${id}`);
  if (run.status !== "stopped") throw new ConflictError(`Evaluation run ${id} is ${run.status}; only a stopped run can be resumed.`);
  const set: Record<string, number | null> = { model_calls: 0, retries: 0 };
  if (limits.maxModelCalls !== undefined) set.max_model_calls = limits.maxModelCalls;
  if (limits.maxRetries !== undefined) set.max_retries = limits.maxRetries;
  if (limits.maxRuntimeSeconds !== undefined) set.max_runtime_seconds = limits.maxRuntimeSeconds;
  if (!(await evaluationRuns.reopen(ctx.db.sql, id, set))) throw new ConflictError(`Evaluation run ${id} was resumed already.`);
  // A schedule run that stopped with it follows it again, wherever the resume came from.
  await reopenStoppedRunOf(ctx.db.sql, "evaluation_run", id);
  await enqueue(evaluationRunJob, { runId: id });
  return (await getEvaluationRun(ctx, id))!;
}

type RunRow = NonNullable<Awaited<ReturnType<Db["prisma"]["evaluationRun"]["findUnique"]>>>;
type RunItemRow = Awaited<ReturnType<Db["prisma"]["runItem"]["findMany"]>>[number];

async function processItem(db: Db, run: RunRow, item: RunItemRow, ctx: AccessContext, signal: AbortSignal | undefined, limiter: RunLimiter) {
  const started = performance.now();
  try {
    const a = await askPipeline(ctx, item.question, { signal });
    const latencyMs = Math.round(performance.now() - started);
    // In budget mode the judge is skipped: the item keeps its answer and gets no score (the run says how many).
    const judged = a.budgetMode ? null : await runJudge(
      {
        question: item.question,
        output: a.answer,
        passages: a.sources.map((s) => ({ text: s.text, title: s.title, url: s.url })),
        reference: item.referenceAnswer,
      },
      { model: run.judgeModel, signal },
    );
    // The wiki passages are sealed (KES, wiki-knowledge-key) before anything is written: KES refusing
    // or unreachable fails the item with nothing stored in clear.
    const kept = await sealPassages(db, item.id, a.sources);
    await db.prisma.$transaction(async (tx) => {
      // Only a still-pending item is written: if an expired job's retry raced this worker to the same
      // item, the loser's answer and score are dropped instead of doubling the item's scores.
      const claimed = await tx.runItem.updateMany({
        where: { id: item.id, status: "pending" },
        data: {
          status: "ok",
          answer: a.answer,
          sources: kept.sources.map((s) => ({ ...s })),
          sealedPassages: kept.sealed,
          retrievalHit: retrievalHit(item.expectedSources, a.sources, run.topK),
          latencyMs,
          promptTokens: a.promptTokens,
          completionTokens: a.completionTokens,
          queryLogId: a.queryLogId,
          error: judged?.status === "error" ? judged.error : null,
          finishedAt: new Date(),
        },
      });
      if (claimed.count === 0) return;
      if (judged) await storeJudgeScore(tx, { kind: "run_item", id: item.id }, judged);
      await tx.evaluationRun.update({ where: { id: run.id }, data: { doneCount: { increment: 1 } } });
    });
  } catch (err) {
    if (signal?.aborted) return;
    // A limit reached (or a budget used up) stops the run; the item stays pending for a resume.
    if (isRunLimitReached(err)) return;
    if (isAppError(err) && err.code === "budget_exhausted") {
      limiter.stop(err.message.replace(/\.$/, ""));
      return;
    }
    limiter.failedAttempt();
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

async function markRunFailed(db: Db, runId: string, message: string) {
  if (!(await evaluationRuns.fail(db.sql, runId, message))) return;
  const run = await db.prisma.evaluationRun.findUnique({ where: { id: runId }, select: { itemCount: true, errorCount: true } });
  const target = getConfig().EVAL_ALERT_THRESHOLD;
  await notify(
    { kind: "evaluation_run.finished", runId, status: "failed", itemCount: run?.itemCount ?? 0, errorCount: run?.errorCount ?? 0, avgHallucination: null, target, belowTarget: false },
    { db },
  );
}

/** Averages over the run's items: judge scores that are ok; errors are items that failed or whose score is an error. */
async function completeEvaluationRun(db: Db, runId: string) {
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
  const unjudged = items.filter((i) => i.status === "ok" && !i.scores[0]).length;
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
  const completed = await evaluationRuns.succeed(
    db.sql,
    runId,
    {
      avg_hallucination: summary.avgHallucination,
      avg_faithfulness: summary.avgFaithfulness,
      avg_answer_relevance: summary.avgAnswerRelevance,
      avg_context_recall: summary.avgContextRecall,
      retrieval_hit_rate: summary.retrievalHitRate,
      error_count: summary.errorCount,
    },
    unjudged > 0 ? `Judge skipped for ${unjudged} of ${items.length} items (budget mode).` : null,
  );
  if (!completed) return;
  const { itemCount } = await db.prisma.evaluationRun.findUniqueOrThrow({ where: { id: runId }, select: { itemCount: true } });
  const alert = await sendRunAlert({ id: runId, itemCount, errorCount, avgHallucination: summary.avgHallucination });
  await db.prisma.evaluationRun.update({ where: { id: runId }, data: { alertStatus: alert.status, alertError: alert.error ?? null } });
  const target = getConfig().EVAL_ALERT_THRESHOLD;
  await notify(
    {
      kind: "evaluation_run.finished",
      runId,
      status: "completed",
      itemCount,
      errorCount,
      avgHallucination: summary.avgHallucination,
      target,
      belowTarget: summary.avgHallucination !== null && summary.avgHallucination < target,
    },
    { db },
  );
}

const RUN_VIEW_INCLUDE = { dataset: { select: { name: true } }, datasetVersion: { select: { version: true } } } as const;
type RunWithDataset = Prisma.EvaluationRunGetPayload<{ include: typeof RUN_VIEW_INCLUDE }>;

function runView(run: RunWithDataset) {
  return {
    kind: "evaluation_run" as const,
    id: run.id,
    status: run.status as "queued" | "running" | "completed" | "failed" | "stopped",
    datasetId: run.datasetId,
    datasetName: run.dataset.name,
    datasetVersion: run.datasetVersion.version,
    trigger: run.trigger,
    scheduleRunId: run.scheduleRunId,
    baselineRunId: run.baselineRunId,
    collectionIds: run.collectionIds,
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
    limits: { maxModelCalls: run.maxModelCalls, maxRetries: run.maxRetries, maxRuntimeSeconds: run.maxRuntimeSeconds },
    modelCalls: run.modelCalls,
    retries: run.retries,
    createdAt: run.createdAt,
    startedAt: run.startedAt,
    finishedAt: run.finishedAt,
  };
}
export type EvaluationRunView = ReturnType<typeof runView>;

/** Status and figures of a run the caller may see, else null. */
export async function getEvaluationRun(ctx: AccessContext, id: string): Promise<EvaluationRunView | null> {
  if (!(await readableRunId(ctx, id))) return null;
  const run = await ctx.db.prisma.evaluationRun.findUnique({ where: { id }, include: RUN_VIEW_INCLUDE });
  return run ? runView(run) : null;
}

/**
 * Where a run stands, for the scheduler watching a run it handed off: its state and error line only (no
 * questions, answers or figures), so it needs no reader's access.
 */
export async function evaluationRunStatus(db: Db, id: string): Promise<{ status: string; error: string | null } | null> {
  return db.prisma.evaluationRun.findUnique({ where: { id }, select: { status: true, error: true } });
}

/** Runs the caller may see, newest first, and how many others exist (counted, not shown). */
export async function listRuns(ctx: AccessContext, opts: { datasetId?: string; limit?: number } = {}) {
  requirePermission(ctx, "score");
  const { db } = ctx;
  const { ids, hidden } = await runIdsReadable(db.sql, ctx, { datasetId: opts.datasetId, limit: opts.limit ?? 100 });
  const runs = await db.prisma.evaluationRun.findMany({
    where: { id: { in: ids } },
    orderBy: [{ createdAt: "desc" }, { id: "asc" }],
    include: RUN_VIEW_INCLUDE,
  });
  return {
    runs: runs.map((r) => ({
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
    })),
    hidden,
  };
}

/** Average hallucination score of the completed runs the caller may see, oldest first (the trend chart). */
export async function runTrend(ctx: AccessContext, opts: { datasetId?: string; limit?: number } = {}): Promise<TrendPoint[]> {
  requirePermission(ctx, "score");
  const runs = await completedRunAverages(ctx.db.sql, ctx, { datasetId: opts.datasetId, limit: opts.limit ?? 50 });
  return runs.reverse().map((r) => ({ ...r, at: r.at.toISOString() }));
}

const norm = (q: string) => q.trim().toLowerCase().replace(/\s+/g, " ");

/**
 * A run's items with their judge and human scores, paired with the baseline run's items (by question).
 * 404 when the caller may not see the run; a baseline they may not see is not compared with.
 */
export async function getRunDetail(ctx: AccessContext, runId: string, opts: { baselineRunId?: string | null } = {}) {
  requirePermission(ctx, "score");
  const { db } = ctx;
  const found = await getEvaluationRun(ctx, runId);
  if (!found) throw new NotFoundError(`Evaluation run ${runId}`);
  // Compare with another run when asked (the run page's baseline picker); default: the run's own baseline.
  let baselineRunId = opts.baselineRunId !== undefined ? opts.baselineRunId : found.baselineRunId;
  if (baselineRunId && !(await readableRunId(ctx, baselineRunId))) {
    if (opts.baselineRunId !== undefined) throw new NotFoundError(`Baseline run ${baselineRunId}`);
    baselineRunId = null;
  }
  const run = { ...found, baselineRunId };
  const load = (id: string) =>
    db.prisma.runItem.findMany({
      where: { runId: id },
      orderBy: { position: "asc" },
      include: { scores: { orderBy: { createdAt: "desc" } } },
    });
  const items = await Promise.all((await load(runId)).map(async (it) => ({ ...it, sources: await openPassages<PipelineSource>(db, it) })));
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
  // The baseline's own figures: an imported one (the old system's scores, lib/supabase-import) is the
  // average the new system is held to.
  const b = run.baselineRunId
    ? await db.prisma.evaluationRun.findUnique({
        where: { id: run.baselineRunId },
        select: { id: true, trigger: true, judgeModel: true, avgHallucination: true, createdAt: true, finishedAt: true },
      })
    : null;
  const baselineSummary = b && { id: b.id, imported: b.trigger === "import", judgeModel: b.judgeModel, avgHallucination: b.avgHallucination, at: b.finishedAt ?? b.createdAt };
  return { run, items: rows, regressionCount: rows.filter((r) => r.regressions.length > 0).length, baseline: baselineSummary };
}
