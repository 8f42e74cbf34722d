// POST /v1/chat/completions over the one Ask pipeline (lib/answer ask()): the same retrieval, prompt,
// server-side citation parsing and query log as POST /api/evaluate, with the caller's own access context.
// Citations come three ways that agree with each other:
//   1. inline [n] markers in the text (invalid ones already dropped by the pipeline);
//   2. `message.annotations`: one url_citation per marker, start_index/end_index delimiting the marker in
//      the final text (end exclusive: content.slice(start_index, end_index) === "[n]");
//   3. `sot`: the sources themselves (chunk ids, scores, collection, text) and the query-log id, for
//      POST /api/feedback and scoring.
// Streamed, the chunks are OpenAI's `chat.completion.chunk`: the role first, then the text, then ONE
// final chunk with the annotations (an empty list when there are none), the finish reason and the `sot`
// object (so every source is sent once), then the usage chunk when stream_options.include_usage asks for
// it, then `data: [DONE]`.
import { randomUUID } from "node:crypto";
import type { AccessContext } from "../access/context";
import { ask } from "../answer/ask";
import { sseStream } from "../http/sse";
import type { AskEvent, AskResult } from "../answer/types";
import { getConfig } from "../config";
import { AnswerText, type PlacedCitation } from "../connect/answer-text";
import { passageLink } from "../connect/links";
import { readableCollections, type CollectionRef } from "../connect/collections";
import { AppError } from "../errors";
import { log } from "../log";
import { budgetOut } from "../usage/budget-check";
import { parseChatRequest, type ChatRequest } from "./chat-request";
import { ALL_COLLECTIONS_MODEL, resolveModel } from "./models";

export interface UrlCitation {
  type: "url_citation";
  url_citation: { url: string; title: string; start_index: number; end_index: number };
}

type FinishReason = "stop" | "length";

/** The `sot` extension: everything OpenAI's shape has no place for. */
export function sotExtension(result: AskResult, collections: CollectionRef[], origin: string, citations: PlacedCitation[]) {
  const slugs = new Map(collections.map((c) => [c.id, c.slug]));
  return {
    query_log_id: result.id || null,
    status: result.status,
    covered: result.covered,
    model: result.model,
    collections: collections.map((c) => ({ id: c.id, slug: c.slug, name: c.name })),
    sources: result.sources.map((s) => ({
      n: s.n,
      chunk_id: s.chunkId,
      document_id: s.documentId,
      collection_id: s.collectionId,
      collection: slugs.get(s.collectionId) ?? null,
      title: s.title,
      url: passageLink(origin, s),
      heading_path: s.headingPath,
      text: s.text,
      scores: s.scores,
      cited: s.cited,
      ...(s.neighbourChunkIds ? { neighbour_chunk_ids: s.neighbourChunkIds } : {}),
    })),
    citations: citations.map((c) => ({ n: c.n, chunk_id: c.chunkId, start_index: c.start, end_index: c.end })),
    invalid_citations: result.invalidCitations,
    rerank: result.rerank,
    budget: budgetOut(result.budget),
    timings: {
      rewrite_ms: result.timings.rewriteMs,
      embed_ms: result.timings.embedMs,
      retrieve_ms: result.timings.retrieveMs,
      rerank_ms: result.timings.rerankMs,
      first_token_ms: result.timings.firstTokenMs,
      total_ms: result.timings.totalMs,
    },
  };
}

export function annotationsFor(result: AskResult, origin: string, citations: PlacedCitation[]): UrlCitation[] {
  return citations.map((c) => {
    const s = result.sources[c.n - 1]!;
    const title = s.headingPath.length && s.headingPath.at(-1) !== s.title ? `${s.title} › ${s.headingPath.at(-1)}` : s.title;
    return { type: "url_citation", url_citation: { url: passageLink(origin, s), title, start_index: c.start, end_index: c.end } };
  });
}

function finishReason(result: AskResult, req: ChatRequest): FinishReason {
  const limit = Math.min(req.maxTokens ?? Infinity, getConfig().ASK_ANSWER_TOKENS);
  return result.status === "ok" && result.tokens.completion >= limit ? "length" : "stop";
}

const usageOf = (r: AskResult) => ({ prompt_tokens: r.tokens.prompt, completion_tokens: r.tokens.completion, total_tokens: r.tokens.prompt + r.tokens.completion });

export async function chatCompletion(ctx: AccessContext, raw: unknown, opts: { signal?: AbortSignal; origin: string }): Promise<Response | object> {
  const req = parseChatRequest(raw);
  // `sot` needs no lookup before answering (the pipeline reads whatever the caller may read): the
  // collections' names, for the sot extension, are read while it runs.
  const all = req.model === ALL_COLLECTIONS_MODEL;
  const named = all ? null : await resolveModel(ctx, req.model);
  const model = { id: req.model, collections: named ? Promise.resolve(named.collections) : readableCollections(ctx) };
  model.collections.catch(() => {}); // awaited with the answer; an early failure must not go unhandled
  const input = {
    question: req.question,
    history: req.history,
    collections: named ? named.collections.map((c) => c.id) : undefined,
    stream: false,
  };
  const generation = { temperature: req.temperature, maxTokens: req.maxTokens };
  const id = `chatcmpl-${randomUUID().replace(/-/g, "")}`;
  const created = Math.floor(Date.now() / 1000);
  if (!req.stream) {
    const answer = new AnswerText();
    const result = await ask(ctx, input, {
      ...generation,
      signal: opts.signal,
      onEvent: (e) => {
        if (e.event === "token") answer.push(e.data.text);
      },
    });
    if (result.status === "error") throw new AppError(502, "model_error", `The model failed while answering: ${result.error ?? "unknown error"}`);
    // Trailing blank space goes too (offsets are unaffected), as in /api/evaluate's answer.
    const content = answer.text.trimEnd();
    const citations = answer.citations(result);
    return {
      id,
      object: "chat.completion",
      created,
      model: model.id,
      choices: [
        {
          index: 0,
          message: { role: "assistant", content, refusal: null, annotations: annotationsFor(result, opts.origin, citations) },
          logprobs: null,
          finish_reason: finishReason(result, req),
        },
      ],
      usage: usageOf(result),
      system_fingerprint: null,
      sot: sotExtension(result, await model.collections, opts.origin, citations),
    };
  }
  return streamCompletion(ctx, req, input, { ...generation, signal: opts.signal, origin: opts.origin, id, created, collections: model.collections, modelId: model.id });
}

async function streamCompletion(
  ctx: AccessContext,
  req: ChatRequest,
  input: Parameters<typeof ask>[1],
  o: { temperature?: number; maxTokens?: number; signal?: AbortSignal; origin: string; id: string; created: number; collections: Promise<CollectionRef[]>; modelId: string },
): Promise<Response> {
  const stream = sseStream(o.signal);
  const write = (data: unknown) => stream.write(`data: ${typeof data === "string" ? data : JSON.stringify(data)}\n\n`);
  const close = () => stream.close();
  const usageField = req.includeUsage ? { usage: null } : {};
  const chunk = (delta: Record<string, unknown>, finish: FinishReason | null, extra: Record<string, unknown> = {}) => ({
    id: o.id,
    object: "chat.completion.chunk",
    created: o.created,
    model: o.modelId,
    system_fingerprint: null,
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
    ...usageField,
    ...extra,
  });

  const answer = new AnswerText();
  /** The first chunk went out: from now on errors arrive in the stream, not as an HTTP status. */
  let answered = false;
  let started!: () => void;
  const first = new Promise<void>((resolve) => (started = resolve));
  const onEvent = (e: AskEvent) => {
    if (e.event === "start") {
      write(chunk({ role: "assistant", content: "", refusal: null }, null));
      answered = true;
      started();
    } else if (e.event === "token") {
      const text = answer.push(e.data.text);
      if (text) write(chunk({ content: text }, null));
    }
  };
  const failed = (message: string) => {
    write({ error: { message, type: "server_error", param: null, code: "model_error" } });
    close();
  };
  // Wait for the pipeline's first event (or an early error) before answering, so that errors found
  // before anything was sent (a collection that vanished, the database down) keep their HTTP status.
  const run = ask(ctx, input, { temperature: o.temperature, maxTokens: o.maxTokens, signal: stream.signal, onEvent });
  Promise.all([run, o.collections]).then(
    ([result, collections]) => {
      if (result.status === "aborted") return close();
      if (result.status === "error") return failed(`The model failed while answering: ${result.error ?? "unknown error"}`);
      const citations = answer.citations(result);
      write(chunk({ annotations: annotationsFor(result, o.origin, citations) }, finishReason(result, req), { sot: sotExtension(result, collections, o.origin, citations) }));
      if (req.includeUsage) write({ ...chunk({}, null), choices: [], usage: usageOf(result) });
      write("[DONE]");
      close();
    },
    (err: Error) => {
      if (!answered) return; // thrown from here to the route, which answers with the error's status
      log("error", "chat completion failed mid-stream", { requestId: ctx.requestId, error: err.message });
      failed("The answer failed; the request id identifies it in the logs.");
    },
  );
  await Promise.race([first, run]);
  return stream.response();
}
