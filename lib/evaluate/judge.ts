// Running the judge (with retries of invalid output) and storing scores. A score is either computed from
// validated verdicts or recorded as an error with the judge's raw text — never invented.
import { pickReadable, requirePermission, type AccessContext } from "../access/context";
import { getConfig } from "../config";
import type { Db } from "../db/client";
import { AppError, NotFoundError } from "../errors";
import { getLlm, type ChatMessage, type Llm } from "../llm";
import { noteRetry } from "../usage/meter";
import { buildJudgeMessages, JUDGE_PROMPT_VERSION, parseJudgeOutput, repairMessage, type JudgeInput, type Passage } from "./judge-prompt";
import { readableTargetStatus } from "./queries";
import { retrievePassages } from "./retrieval";
import { computeMetrics, type JudgedClaim, type Metrics, type ReferenceClaim } from "./scoring-rule";

export interface JudgeOptions {
  llm?: Llm;
  model?: string;
  maxClaims?: number;
  retries?: number;
  seed?: number;
  signal?: AbortSignal;
}

interface JudgeCommon {
  judgeModel: string;
  promptVersion: string;
  /** Judge calls made (1 + retries used). */
  attempts: number;
}
export type JudgeResult =
  | (JudgeCommon & {
      status: "ok";
      metrics: Metrics;
      claims: JudgedClaim[];
      referenceClaims: ReferenceClaim[] | null;
      truncated: boolean;
      rawOutput: string;
    })
  | (JudgeCommon & { status: "error"; error: string; rawOutput: string | null });

/**
 * Asks the judge and validates its reply. Invalid output is answered with a repair turn naming the problem
 * (a verbatim repeat at temperature 0 and a fixed seed would only reproduce the same text); the seed moves
 * with the attempt number, so a re-score walks the same sequence and gets the same result.
 * Ollama being unreachable is not the judge's fault: LlmUnavailableError propagates to the caller.
 */
export async function runJudge(input: JudgeInput, opts: JudgeOptions = {}): Promise<JudgeResult> {
  const config = getConfig();
  const llm = opts.llm ?? getLlm();
  const model = opts.model ?? config.OLLAMA_JUDGE_MODEL;
  const maxClaims = opts.maxClaims ?? config.EVAL_JUDGE_MAX_CLAIMS;
  const retries = opts.retries ?? config.EVAL_JUDGE_RETRIES;
  const seed = opts.seed ?? config.EVAL_JUDGE_SEED;
  const built = buildJudgeMessages(input, maxClaims);
  const messages: ChatMessage[] = [...built.messages];
  const problems: string[] = [];
  let raw: string | null = null;
  // A reply that was cut off keeps its whole claims (judge-repair.ts); a complete reply is better, so the
  // judge is asked again and the cut-off one is used only when no complete reply comes.
  let cutOffFallback: { parsed: Extract<ReturnType<typeof parseJudgeOutput>, { ok: true }>; raw: string } | null = null;
  for (let attempt = 0; attempt <= retries; attempt++) {
    if (attempt > 0) noteRetry(); // a run's retry limit counts the judge asked again
    const res = await llm.chatJson(messages, built.schema, {
      model,
      temperature: 0,
      seed: seed + attempt,
      signal: opts.signal,
      op: "judge",
    });
    raw = res.content;
    const parsed = parseJudgeOutput(raw, { maxClaims, passageCount: built.passageCount, withReference: built.withReference });
    if (parsed.ok && parsed.cutOff && attempt < retries) {
      cutOffFallback ??= { parsed, raw };
    } else if (parsed.ok) {
      return {
        status: "ok",
        judgeModel: model,
        promptVersion: JUDGE_PROMPT_VERSION,
        attempts: attempt + 1,
        metrics: computeMetrics(parsed.claims, parsed.referenceClaims),
        claims: parsed.claims,
        referenceClaims: parsed.referenceClaims,
        truncated: parsed.truncated,
        rawOutput: raw,
      };
    }
    const problem = parsed.ok ? "the reply was cut off before it ended" : parsed.problem;
    problems.push(`attempt ${attempt + 1}: ${problem}`);
    // Keep the conversation short: only the latest bad reply and its repair request.
    messages.splice(built.messages.length, messages.length, { role: "assistant", content: raw.slice(0, 4000) }, repairMessage(problem, attempt + 2));
  }
  if (cutOffFallback) {
    const { parsed, raw: fallbackRaw } = cutOffFallback;
    return {
      status: "ok",
      judgeModel: model,
      promptVersion: JUDGE_PROMPT_VERSION,
      attempts: retries + 1,
      metrics: computeMetrics(parsed.claims, parsed.referenceClaims),
      claims: parsed.claims,
      referenceClaims: parsed.referenceClaims,
      truncated: true,
      rawOutput: fallbackRaw,
    };
  }
  return {
    status: "error",
    judgeModel: model,
    promptVersion: JUDGE_PROMPT_VERSION,
    attempts: retries + 1,
    error: `The judge returned invalid output ${retries + 1} time${retries === 0 ? "" : "s"} (${problems.join("; ")}).`,
    rawOutput: raw,
  };
}

export type ScoreTarget =
  | { kind: "query_log"; id: string }
  | { kind: "run_item"; id: string }
  | { kind: "external_output"; id: string };

export function targetColumns(target: ScoreTarget) {
  return {
    queryLogId: target.kind === "query_log" ? target.id : null,
    runItemId: target.kind === "run_item" ? target.id : null,
    externalOutputId: target.kind === "external_output" ? target.id : null,
  };
}

/** What we store in scores.claims: the output's claims, then the reference answer's (marked). */
export function claimsJson(result: Extract<JudgeResult, { status: "ok" }>) {
  return [
    ...result.claims.map((c) => ({ ...c })),
    ...(result.referenceClaims ?? []).map((c) => ({ ...c, fromReference: true })),
  ];
}

/** Writes one judge score (ok or error) for a target. Use inside a transaction by passing its client. */
export async function storeJudgeScore(
  prisma: Pick<Db["prisma"], "score">,
  target: ScoreTarget,
  result: JudgeResult,
): Promise<{ id: string }> {
  const common = {
    kind: "judge",
    ...targetColumns(target),
    judgeModel: result.judgeModel,
    promptVersion: result.promptVersion,
  };
  if (result.status === "ok") {
    return prisma.score.create({
      data: {
        ...common,
        status: "ok",
        hallucinationScore: result.metrics.hallucinationScore,
        faithfulness: result.metrics.faithfulness,
        answerRelevance: result.metrics.answerRelevance,
        contextRecall: result.metrics.contextRecall,
        claims: claimsJson(result),
        rawOutput: result.rawOutput,
      },
      select: { id: true },
    });
  }
  return prisma.score.create({
    data: { ...common, status: "error", error: result.error, rawOutput: result.rawOutput },
    select: { id: true },
  });
}

/** The judge kept returning invalid output: 502 with the recorded error's id and the raw text. */
export class JudgeOutputError extends AppError {
  constructor(message: string, details: Record<string, unknown>) {
    super(502, "judge_invalid_output", message, details);
  }
}

export interface ScoreRequest {
  question: string;
  output: string;
  /** The source passages the output should be faithful to. */
  passages?: Passage[];
  /** Use the wiki's own retrieval for the passages instead. */
  retrieve?: boolean;
  reference?: string | null;
  /** Score an answer logged by /api/evaluate (instead of storing the output as an external one). */
  queryLogId?: string;
  collectionIds?: string[];
}

export interface ScoreResponse {
  scoreId: string;
  status: "ok";
  target: ScoreTarget;
  hallucinationScore: number;
  faithfulness: number;
  answerRelevance: number | null;
  contextRecall: number | null;
  noClaims: boolean;
  counts: Metrics["counts"];
  claims: JudgedClaim[];
  referenceClaims: ReferenceClaim[] | null;
  truncated: boolean;
  passages: Passage[];
  judgeModel: string;
  promptVersion: string;
  attempts: number;
}

/** POST /api/evaluate/score: judge one output and store the score (the old `output-evaluate`). */
export async function scoreOutput(ctx: AccessContext, request: ScoreRequest): Promise<ScoreResponse> {
  requirePermission(ctx, "score");
  const { db, principal } = ctx;
  let passages = request.passages ?? [];
  // What the stored output is bound to: the collections retrieved over, or (for passages the caller
  // brings, which may have been copied from the wiki) every collection the caller may read.
  let collectionIds = [...ctx.readableIds];
  if (request.retrieve) {
    collectionIds = pickReadable(ctx, request.collectionIds);
    passages = await retrievePassages(ctx, request.question, collectionIds);
  }
  if (request.queryLogId) {
    // Only a logged answer the caller may read (their own, unless an admin) can be scored.
    if ((await readableTargetStatus(db.sql, ctx, "query_log", request.queryLogId)) === null) {
      throw new NotFoundError(`Query log ${request.queryLogId}`);
    }
  }
  const result = await runJudge(
    { question: request.question, output: request.output, passages, reference: request.reference },
  );
  // The target row and its score are written together: no orphaned external output without its score.
  const { scoreId, target } = await db.prisma.$transaction(async (tx) => {
    let target: ScoreTarget;
    if (request.queryLogId) target = { kind: "query_log", id: request.queryLogId };
    else {
      const ext = await tx.externalOutput.create({
        data: {
          question: request.question,
          output: request.output,
          passages: passages.map((p) => ({ text: p.text, title: p.title ?? null, url: p.url ?? null })),
          referenceAnswer: request.reference ?? null,
          userId: principal.kind === "user" ? principal.userId : null,
          apiKeyId: principal.apiKeyId,
          collectionIds,
        },
        select: { id: true },
      });
      target = { kind: "external_output", id: ext.id };
    }
    const score = await storeJudgeScore(tx, target, result);
    return { scoreId: score.id, target };
  });
  if (result.status === "error") {
    throw new JudgeOutputError(result.error, {
      scoreId,
      target,
      attempts: result.attempts,
      judgeModel: result.judgeModel,
      rawOutput: result.rawOutput,
    });
  }
  return {
    scoreId,
    status: "ok",
    target,
    hallucinationScore: result.metrics.hallucinationScore,
    faithfulness: result.metrics.faithfulness,
    answerRelevance: result.metrics.answerRelevance,
    contextRecall: result.metrics.contextRecall,
    noClaims: result.metrics.noClaims,
    counts: result.metrics.counts,
    claims: result.claims,
    referenceClaims: result.referenceClaims,
    truncated: result.truncated,
    passages,
    judgeModel: result.judgeModel,
    promptVersion: result.promptVersion,
    attempts: result.attempts,
  };
}
