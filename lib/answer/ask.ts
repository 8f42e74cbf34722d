// The one Ask pipeline behind POST /api/evaluate (streamed or not) and evaluation runs:
// rewrite a follow-up → retrieve (embed, hybrid search, rerank) → pack sources into num_ctx → stream
// the model's answer while parsing citations → log the query. Events go to `onEvent` as they happen;
// the returned AskResult is the same payload as the final "done" event.
import { createHash } from "node:crypto";
import { pickReadable, type AccessContext } from "../access/context";
import type { Principal } from "../auth/roles";
import { getConfig } from "../config";
import type { Db } from "../db/client";
import { isAppError } from "../errors";
import { getLlm, isLlmUnavailable } from "../llm";
import { isRunLimitReached } from "../usage/run-limits";
import { log } from "../log";
import { retrieve, type Candidate } from "../retrieve";
import { CitationParser } from "./citations";
import { conversationHistory, createConversation, recordTurn, type Turn } from "./conversations";
import { buildMessages, estimateTokens, isNotCovered, NOT_COVERED_TEXT, packContext, REWRITE_SCHEMA, rewriteMessages, SHORT_CHUNK_TOKENS, sourceHeader } from "./prompt";
import { askInputSchema, type AskEvent, type AskInput, type AskResult, type AskSource, type AskStatus, type ParsedAskInput } from "./types";
import { budgetReport } from "../usage/budget-check";
import { estimateFor, guardrailsOff, reserveForWork } from "../usage/meter";
import { usageScopeFor, withUsage } from "../usage/scope";
import type { BudgetReport } from "../usage/types";

export interface AskOptions {
  signal?: AbortSignal;
  onEvent?: (e: AskEvent) => void;
  /** The answer's sampling temperature (default 0.1: answers stay close to their sources). */
  temperature?: number;
  /** At most this many answer tokens; never more than ASK_ANSWER_TOKENS, which the context packing keeps free. */
  maxTokens?: number;
}

export const NO_MODEL_PREFIX = "No model available — the most relevant passages from the wiki:";

/**
 * Answers a question as `ctx`. Its budgets are checked first (429 when one is used up, before anything
 * streams); past a budget's threshold the answer is made in budget mode — the fallback model, fewer
 * sources, no follow-up rewrite — and says so in `budget`.
 */
export async function ask(ctx: AccessContext, rawInput: AskInput, opts: AskOptions = {}): Promise<AskResult> {
  const input = askInputSchema.parse(rawInput);
  const scope = usageScopeFor(ctx);
  const guardrailMs = { value: 0 };
  const started = performance.now();
  const reserved = guardrailsOff()
    ? { check: { states: [], mode: "normal" as const, nearest: null }, prepaid: undefined, release: () => {} }
    : await reserveForWork(scope, askEstimate(input));
  guardrailMs.value += performance.now() - started;
  const { check, prepaid } = reserved;
  try {
    return await withUsage({ ...scope, budgets: check, prepaid, guardrailMs }, () => answer(ctx, input, opts, check.mode === "budget", budgetReport(check, scope), guardrailMs));
  } finally {
    reserved.release();
  }
}

/** The most an answer can use: the follow-up rewrite, the question's embedding, the context and the answer. */
function askEstimate(input: ParsedAskInput) {
  const config = getConfig();
  const chars = (t: string) => Math.ceil(t.length / 3);
  const history = input.history ?? [];
  const rewrite = history.length ? history.reduce((n, m) => n + chars(m.content), 0) + chars(input.question) + 300 : 0;
  return estimateFor(rewrite + chars(input.question) + config.OLLAMA_NUM_CTX + config.ASK_ANSWER_TOKENS);
}

async function answer(ctx: AccessContext, input: ParsedAskInput, opts: AskOptions, budgetMode: boolean, budget: BudgetReport, guardrailMs: { value: number }): Promise<AskResult> {
  const config = getConfig();
  const { db, principal } = ctx;
  const llm = getLlm();
  const emit = (e: AskEvent) => opts.onEvent?.(e);
  const started = performance.now();
  const since = () => Math.round(performance.now() - started);

  const collections = pickReadable(ctx, input.collections);

  // ── conversation and follow-up rewriting ──
  let conversationId: string | null = input.conversationId ?? null;
  let history: Turn[] = input.history ?? [];
  if (conversationId) history = await conversationHistory(ctx, conversationId, !!input.regenerate);
  else if (input.saveConversation && principal.userId) {
    conversationId = (await createConversation(ctx, { title: input.question, collections: input.collections })).id;
  }
  let standalone = input.question;
  let t = performance.now();
  if (history.some((m) => m.role === "user")) {
    standalone = budgetMode ? withoutRewrite(history, input.question) : await rewriteFollowUp(history, input.question, opts.signal);
  }
  const rewriteMs = Math.round(performance.now() - t);
  emit({ event: "start", data: { conversationId, question: input.question, standaloneQuestion: standalone, collections, budget } });

  // ── retrieval ──
  const retrieved = await retrieve(standalone, { collectionIds: collections, signal: opts.signal, rerank: input.rerank, db });
  const { chunks: packed, remaining } = packContext(retrieved.candidates, {
    numCtx: config.OLLAMA_NUM_CTX,
    answerTokens: config.ASK_ANSWER_TOKENS,
    maxSources: budgetMode ? Math.min(config.ASK_MAX_SOURCES, config.BUDGET_MODE_MAX_SOURCES) : config.ASK_MAX_SOURCES,
    question: standalone,
  });
  const sources = packed.map((c, i) => toSource(c, i + 1));
  await addNeighbours(db, sources, packed, remaining);
  emit({ event: "sources", data: { sources } });

  // ── the answer ──
  const parser = new CitationParser(sources.length);
  let status: AskStatus = "ok";
  let model: string | null = null;
  let firstTokenMs: number | null = null;
  let tokens = { prompt: 0, completion: 0 };
  let error: string | undefined;
  const send = (piece: { text: string; citations: number[] }) => {
    if (piece.text) {
      firstTokenMs ??= since();
      emit({ event: "token", data: { text: piece.text } });
    }
    for (const n of piece.citations) emit({ event: "citation", data: { n, chunkId: sources[n - 1]!.chunkId } });
  };

  if (sources.length === 0) {
    // Nothing retrieved at all: no model call can do better than saying so.
    send(parser.push(NOT_COVERED_TEXT));
  } else {
    try {
      const stream = llm.chatStream(buildMessages(standalone, sources), {
        // Budget mode answers with the fallback model (when there is one).
        model: budgetMode && config.OLLAMA_FALLBACK_MODEL ? config.OLLAMA_FALLBACK_MODEL : undefined,
        numCtx: config.OLLAMA_NUM_CTX,
        temperature: opts.temperature ?? 0.1,
        maxTokens: Math.min(opts.maxTokens ?? config.ASK_ANSWER_TOKENS, config.ASK_ANSWER_TOKENS),
        signal: opts.signal,
      });
      for await (const part of stream) {
        if (part.type === "token") send(parser.push(part.text));
        else {
          model = part.model;
          tokens = { prompt: part.promptTokens, completion: part.completionTokens };
        }
      }
      if (opts.signal?.aborted) status = "aborted";
    } catch (err) {
      // A run's limit or a budget used up is not the model failing: the caller stops (a run) or refuses (429).
      if (isRunLimitReached(err) || (isAppError(err) && err.code === "budget_exhausted")) throw err;
      if (isLlmUnavailable(err) && parser.text === "") {
        status = "no_model";
        error = err.message;
        send(parser.push(noModelAnswer(sources)));
      } else if (opts.signal?.aborted) {
        status = "aborted";
      } else {
        status = "error";
        error = err instanceof Error ? err.message : String(err);
        emit({ event: "error", data: { code: "model_error", message: error } });
      }
    }
  }
  send(parser.end());

  const answer = parser.text.trim();
  const cited = new Set(parser.cited);
  for (const s of sources) s.cited = cited.has(s.n);
  const covered = status === "no_model" ? cited.size > 0 : !(isNotCovered(answer) && cited.size === 0) && answer.length > 0;
  const result: AskResult = {
    id: "",
    conversationId,
    question: input.question,
    standaloneQuestion: standalone,
    answer,
    status,
    covered,
    sources,
    citations: parser.hits.map((h) => ({ n: h.n, chunkId: sources[h.n - 1]!.chunkId, offset: h.offset })),
    invalidCitations: parser.invalid,
    model,
    embed: { status: retrieved.embed.status, model: retrieved.embed.model },
    rerank: retrieved.rerank,
    timings: { rewriteMs, ...retrieved.timings, firstTokenMs, totalMs: 0, guardrailsMs: 0 },
    tokens,
    budget,
    ...(error ? { error } : {}),
  };
  result.timings.totalMs = since();
  result.timings.guardrailsMs = Math.round(guardrailMs.value * 100) / 100;
  result.id = await logQuery(db, principal, input.question, collections, retrieved.candidates, result);
  if (conversationId && status !== "aborted") await recordTurn(db, conversationId, input.question, result, !!input.regenerate);
  emit({ event: "done", data: result });
  return result;
}

async function rewriteFollowUp(history: Turn[], question: string, signal?: AbortSignal): Promise<string> {
  try {
    const res = await getLlm().chatJson(rewriteMessages(history, question), REWRITE_SCHEMA, { signal, maxTokens: 200, op: "rewrite" });
    const q = (JSON.parse(res.content) as { question?: unknown }).question;
    if (typeof q === "string" && q.trim().length >= 3 && q.length <= 1000 && !isNotCovered(q)) return q.trim();
  } catch (err) {
    if (!isLlmUnavailable(err) && !(err instanceof SyntaxError)) throw err;
  }
  return withoutRewrite(history, question);
}

/** Without a usable rewrite (or in budget mode), searching with the previous question's words keeps the topic. */
function withoutRewrite(history: Turn[], question: string): string {
  const lastUser = [...history].reverse().find((m) => m.role === "user")?.content ?? "";
  return `${lastUser} ${question}`.trim();
}

function toSource(c: Candidate, n: number): AskSource {
  return {
    n,
    chunkId: c.chunkId,
    documentId: c.documentId,
    collectionId: c.collectionId,
    title: c.title,
    url: c.url ? (c.anchor && !c.url.includes("#") ? `${c.url}#${c.anchor}` : c.url) : null,
    anchor: c.anchor,
    headingPath: c.headingPath,
    breadcrumb: c.breadcrumb,
    text: c.text,
    scores: { vector: c.vectorScore, text: c.textScore, fused: c.fusedScore, rerank: c.rerankScore },
    ranks: { vector: c.vectorRank, text: c.textRank, fused: c.fusedRank, final: c.rank },
    cited: false,
  };
}

/**
 * A short chunk (a heading, the sentence introducing a list or table) says little on its own: the next
 * chunk of the same page is appended to it while the context budget allows, unless it is a source already.
 */
async function addNeighbours(db: Db, sources: AskSource[], packed: Candidate[], budget: number): Promise<void> {
  const short = packed.filter((c) => Math.max(c.tokenCount, estimateTokens(c.text)) < SHORT_CHUNK_TOKENS);
  if (short.length === 0 || budget <= 0) return;
  const next = await db.prisma.chunk.findMany({
    where: { OR: short.map((c) => ({ documentId: c.documentId, position: c.position + 1 })) },
    select: { id: true, documentId: true, position: true, text: true, tokenCount: true },
  });
  const inSources = new Set(sources.map((s) => s.chunkId));
  for (const c of short) {
    const n = next.find((x) => x.documentId === c.documentId && x.position === c.position + 1);
    if (!n || inSources.has(n.id)) continue;
    const cost = Math.max(n.tokenCount, estimateTokens(n.text)) + 2;
    if (cost > budget) continue;
    budget -= cost;
    const source = sources.find((s) => s.chunkId === c.chunkId)!;
    source.text = `${source.text.trim()}\n\n${n.text.trim()}`;
    source.neighbourChunkIds = [n.id];
    inSources.add(n.id);
  }
}

/** Without a model: the best passages themselves, cited, clearly marked. */
export function noModelAnswer(sources: AskSource[]): string {
  const excerpt = (t: string) => {
    const s = t.replace(/\s+/g, " ").trim();
    return s.length > 400 ? `${s.slice(0, 400).replace(/\s\S*$/, "")} …` : s;
  };
  return `${NO_MODEL_PREFIX}\n\n${sources
    .slice(0, 3)
    .map((s) => `**${sourceHeader(s)}**: ${excerpt(s.text)} [${s.n}]`)
    .join("\n\n")}`;
}

async function logQuery(db: Db, principal: Principal, question: string, collections: string[], candidates: Candidate[], r: AskResult): Promise<string> {
  const config = getConfig();
  try {
    const row = await db.prisma.queryLog.create({
      data: {
        userId: principal.userId,
        apiKeyId: principal.apiKeyId,
        question: config.LOG_QUERY_TEXT ? question : null,
        questionSha256: createHash("sha256").update(question).digest("hex"),
        collectionIds: collections,
        retrieved: candidates.map((c) => ({
          chunkId: c.chunkId,
          documentId: c.documentId,
          rank: c.rank,
          vectorScore: c.vectorScore,
          textScore: c.textScore,
          fusedScore: c.fusedScore,
          rerankScore: c.rerankScore,
          packed: r.sources.some((s) => s.chunkId === c.chunkId),
        })),
        timings: r.timings,
        promptTokens: r.tokens.prompt,
        completionTokens: r.tokens.completion,
        model: r.model,
        answer: config.LOG_ANSWER_TEXT ? r.answer : null,
        citations: r.citations.map((c) => ({ n: c.n, chunkId: c.chunkId })),
        invalidCitations: r.invalidCitations,
        status: r.status,
        rerankStatus: r.rerank.status,
        covered: r.covered,
      },
      select: { id: true },
    });
    return row.id;
  } catch (err) {
    // The answer was already given; a lost log line must not turn it into an error.
    log("error", "query log write failed", { error: (err as Error).message });
    return "";
  }
}
