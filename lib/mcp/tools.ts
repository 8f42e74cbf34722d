// The MCP server's tools, each a thin shell over the lib/ service a route would call, with the caller's
// own access context: search (retrieve), ask (the Ask pipeline), score (the judge), list_collections and
// get_document. Each has an input and an output schema and returns `structuredContent` (with the same
// JSON as text, as the specification asks for older clients). An unknown collection is an error naming
// near matches, never a wider search.
import { z } from "zod";
import { pickReadable, requirePermission, type AccessContext } from "../access/context";
import { ask } from "../answer/ask";
import type { AskResult } from "../answer/types";
import { AnswerText } from "../connect/answer-text";
import { readableCollections, resolveCollections, type CollectionRef } from "../connect/collections";
import { passageLink } from "../connect/links";
import { scoreOutput } from "../evaluate/judge";
import { getDocumentView, isUuid } from "../ingest/documents";
import { retrieve } from "../retrieve";
import { budgetOut } from "../usage/budget-check";
import { AppError, ValidationError } from "../errors";

export interface ToolContext {
  ctx: AccessContext;
  /** The app's public address, for absolute links. */
  origin: string;
  signal: AbortSignal;
  /** Sends a progress notification when the client asked for them. */
  progress: (progress: number, message: string) => Promise<void>;
}

const collectionsInput = z
  .array(z.string().trim().min(1).max(200))
  .max(20)
  .optional()
  .describe("Collections to search, by slug, name or id (list_collections lists them). Omit for every collection you may read.");

const scores = z.object({ vector: z.number().nullable(), text: z.number().nullable(), fused: z.number(), rerank: z.number().nullable() });
const collectionOut = z.object({ id: z.string(), slug: z.string(), name: z.string() });
const passageOut = z.object({
  chunk_id: z.string(),
  document_id: z.string(),
  collection: z.string(),
  title: z.string(),
  heading_path: z.array(z.string()),
  url: z.string().describe("The page's address, or the document page in SOT"),
  text: z.string(),
  scores,
});

/** Resolves the `collections` argument to readable ids (every readable one when omitted). */
async function collectionIds(
  ctx: AccessContext,
  refs: string[] | undefined,
): Promise<{ ids: string[]; everything: boolean; picked: CollectionRef[]; all: CollectionRef[] }> {
  const resolved = await resolveCollections(ctx, refs);
  const all = resolved.all ? resolved.collections : await readableCollections(ctx);
  // pickReadable once more: the ids handed to retrieval are exactly what this context may read.
  const ids = pickReadable(ctx, resolved.all ? undefined : resolved.collections.map((c) => c.id));
  return { ids, everything: resolved.all, picked: resolved.collections, all };
}

const slugOf = (all: CollectionRef[], id: string) => all.find((c) => c.id === id)?.slug ?? id;

// ───────────── search ─────────────

export const searchInput = {
  query: z.string().trim().min(1).max(4000).describe("What to look for, in plain words"),
  collections: collectionsInput,
  k: z.number().int().min(1).max(50).optional().describe("How many passages to return (default 8)"),
};
export const searchOutput = z.object({
  query: z.string(),
  collections: z.array(collectionOut),
  passages: z.array(passageOut.extend({ rank: z.number().int() })),
  rerank: z.object({ status: z.string(), reason: z.string().optional() }),
  embedding: z.enum(["ok", "unavailable"]).describe("unavailable: full-text search only"),
});

export async function searchTool(t: ToolContext, args: { query: string; collections?: string[]; k?: number }): Promise<z.infer<typeof searchOutput>> {
  const { ids, picked, all } = await collectionIds(t.ctx, args.collections);
  const r = await retrieve(args.query, { collectionIds: ids, k: args.k ?? 8, signal: t.signal, db: t.ctx.db });
  return {
    query: args.query,
    collections: picked.map((c) => ({ id: c.id, slug: c.slug, name: c.name })),
    passages: r.candidates.map((c) => ({
      rank: c.rank,
      chunk_id: c.chunkId,
      document_id: c.documentId,
      collection: slugOf(all, c.collectionId),
      title: c.title,
      heading_path: c.headingPath,
      url: passageLink(t.origin, c),
      text: c.text,
      scores: { vector: c.vectorScore, text: c.textScore, fused: c.fusedScore, rerank: c.rerankScore },
    })),
    rerank: { status: r.rerank.status, ...(r.rerank.reason ? { reason: r.rerank.reason } : {}) },
    embedding: r.embed.status,
  };
}

// ───────────── ask ─────────────

export const askInput = {
  question: z.string().trim().min(1).max(4000).describe("The question, as a person would ask it"),
  collections: collectionsInput,
};
export const askOutput = z.object({
  answer: z.string().describe("The answer with [n] markers citing the sources"),
  status: z.enum(["ok", "no_model", "error", "aborted"]),
  covered: z.boolean().describe("false: the wiki does not cover the question"),
  citations: z.array(z.object({ n: z.number().int(), chunk_id: z.string(), start_index: z.number().int(), end_index: z.number().int(), url: z.string(), title: z.string() })),
  sources: z.array(passageOut.extend({ n: z.number().int(), cited: z.boolean() })),
  query_log_id: z.string().nullable().describe("Identifies this answer for feedback and scoring"),
  model: z.string().nullable(),
  budget: z
    .object({
      mode: z.enum(["normal", "budget"]).describe("budget: past a budget's threshold, answered with the fallback model and fewer sources"),
      used: z.number().nullable(),
      limit: z.number().nullable(),
      metric: z.enum(["tokens", "gpu_seconds"]).optional(),
      period: z.enum(["day", "month"]).optional(),
      name: z.string().optional(),
      resets_at: z.string().optional(),
    })
    .describe("The caller's nearest budget (null use and limit when none applies)"),
});

export async function askTool(t: ToolContext, args: { question: string; collections?: string[] }): Promise<z.infer<typeof askOutput>> {
  const { ids, everything, all } = await collectionIds(t.ctx, args.collections);
  const answer = new AnswerText();
  let tokens = 0;
  const result: AskResult = await ask(
    t.ctx,
    // Every readable collection: no list, so the pipeline reads whatever the caller may read.
    { question: args.question, collections: everything ? undefined : ids, stream: false },
    {
      signal: t.signal,
      onEvent: (e) => {
        if (e.event === "sources") void t.progress(1, `Found ${e.data.sources.length} passages; writing the answer`);
        else if (e.event === "token") {
          answer.push(e.data.text);
          if (++tokens % 25 === 0) void t.progress(1 + tokens, `Writing the answer (${tokens} tokens)`);
        }
      },
    },
  );
  if (result.status === "error") throw new AppError(502, "model_error", `The model failed while answering: ${result.error ?? "unknown error"}`);
  const text = answer.text.trimEnd();
  const placed = answer.citations(result);
  const sources = result.sources.map((s) => ({
    n: s.n,
    chunk_id: s.chunkId,
    document_id: s.documentId,
    collection: slugOf(all, s.collectionId),
    title: s.title,
    heading_path: s.headingPath,
    url: passageLink(t.origin, s),
    text: s.text,
    scores: s.scores,
    cited: s.cited,
  }));
  return {
    answer: text,
    status: result.status,
    covered: result.covered,
    citations: placed.map((c) => ({ n: c.n, chunk_id: c.chunkId, start_index: c.start, end_index: c.end, url: sources[c.n - 1]!.url, title: sources[c.n - 1]!.title })),
    sources,
    query_log_id: result.id || null,
    model: result.model,
    budget: budgetOut(result.budget),
  };
}


// ───────────── score ─────────────

const passageIn = z.object({
  text: z.string().trim().min(1).max(20000),
  title: z.string().max(500).optional(),
  url: z.string().max(2000).optional(),
});
export const scoreInput = {
  question: z.string().trim().min(1).max(4000).describe("The question the output answers"),
  output: z.string().min(1).max(50000).describe("The answer to judge"),
  passages: z.array(passageIn).max(50).optional().describe("The sources the output should be faithful to"),
  retrieve: z.boolean().optional().describe("Judge against the wiki's own passages for the question instead of `passages`"),
  collections: collectionsInput.describe("With retrieve: the collections to take passages from (default: every collection you may read)"),
};
export const scoreOutputSchema = z.object({
  score_id: z.string(),
  hallucination_score: z.number().describe("1–5, higher is more faithful"),
  faithfulness: z.number().describe("Supported claims / claims, 0–1"),
  answer_relevance: z.number().nullable(),
  no_claims: z.boolean(),
  counts: z.object({ total: z.number(), supported: z.number(), contradicted: z.number(), notFound: z.number() }),
  claims: z.array(z.object({ claim: z.string(), verdict: z.string(), passage: z.number().nullable(), reason: z.string(), relevant: z.boolean() })),
  passages: z.array(z.object({ text: z.string(), title: z.string().nullable(), url: z.string().nullable() })),
  judge_model: z.string(),
});

export async function scoreTool(
  t: ToolContext,
  args: { question: string; output: string; passages?: Array<{ text: string; title?: string; url?: string }>; retrieve?: boolean; collections?: string[] },
): Promise<z.infer<typeof scoreOutputSchema>> {
  requirePermission(t.ctx, "score");
  const hasPassages = (args.passages?.length ?? 0) > 0;
  if (hasPassages === !!args.retrieve) {
    throw new ValidationError("Give either `passages` (the sources to judge against) or `retrieve: true` (the wiki's own passages), not both and not neither.");
  }
  const ids = args.retrieve && args.collections?.length ? (await collectionIds(t.ctx, args.collections)).ids : undefined;
  const r = await scoreOutput(t.ctx, { question: args.question, output: args.output, passages: args.passages, retrieve: args.retrieve, collectionIds: ids });
  return {
    score_id: r.scoreId,
    hallucination_score: r.hallucinationScore,
    faithfulness: r.faithfulness,
    answer_relevance: r.answerRelevance,
    no_claims: r.noClaims,
    counts: r.counts,
    claims: r.claims,
    passages: r.passages.map((p) => ({ text: p.text, title: p.title ?? null, url: p.url ?? null })),
    judge_model: r.judgeModel,
  };
}

// ───────────── list_collections ─────────────

export const listCollectionsOutput = z.object({
  collections: z.array(collectionOut.extend({ description: z.string(), documents: z.number().int() })),
});

export async function listCollectionsTool(t: ToolContext): Promise<z.infer<typeof listCollectionsOutput>> {
  const readable = await readableCollections(t.ctx);
  const counts = readable.length
    ? await t.ctx.db.prisma.document.groupBy({ by: ["collectionId"], where: { collectionId: { in: readable.map((c) => c.id) }, deletedAt: null }, _count: { _all: true } })
    : [];
  const count = new Map(counts.map((c) => [c.collectionId, c._count._all]));
  return { collections: readable.map((c) => ({ id: c.id, slug: c.slug, name: c.name, description: c.description, documents: count.get(c.id) ?? 0 })) };
}

// ───────────── get_document ─────────────

/** The most text get_document hands out at once (a page longer than this is cut, and says so). */
const MAX_DOCUMENT_CHARS = 200_000;

export const getDocumentInput = {
  id: z.string().max(100).optional().describe("The document id (document_id in search and ask results)"),
  url: z.string().max(2000).optional().describe("The page's address, or its document page in SOT"),
};
export const getDocumentOutput = z.object({
  id: z.string(),
  title: z.string(),
  url: z.string().describe("The page's address, or its document page in SOT"),
  breadcrumb: z.array(z.string()),
  collection: collectionOut,
  updated_at: z.string().nullable(),
  chunks: z.array(z.object({ chunk_id: z.string(), heading_path: z.array(z.string()), text: z.string() })),
  truncated: z.boolean(),
});

/** The document a URL names: SOT's own document page, or a stored page address (with or without its #fragment). */
async function documentIdForUrl(ctx: AccessContext, url: string): Promise<string | null> {
  const own = /\/documents\/([0-9a-f-]{36})(?:[?#/]|$)/i.exec(url);
  if (own && isUuid(own[1])) return own[1].toLowerCase();
  if (ctx.readableIds.length === 0) return null;
  const bare = url.split("#")[0]!;
  const doc = await ctx.db.prisma.document.findFirst({
    where: { url: { in: [...new Set([url, bare])] }, deletedAt: null, collectionId: { in: ctx.readableIds } },
    select: { id: true },
  });
  return doc?.id ?? null;
}

export async function getDocumentTool(t: ToolContext, args: { id?: string; url?: string }): Promise<z.infer<typeof getDocumentOutput>> {
  if (!!args.id === !!args.url) throw new ValidationError("Give the document's `id` or its `url` (one of them).");
  const id = args.id ? args.id.trim().toLowerCase() : await documentIdForUrl(t.ctx, args.url!.trim());
  const doc = id ? await getDocumentView(t.ctx, id) : null;
  // Missing and not readable answer alike.
  if (!doc) throw new AppError(404, "not_found", `No document ${args.id ? `with id ${args.id}` : `at ${args.url}`} that you may read.`);
  const collection = (await readableCollections(t.ctx)).find((c) => c.id === doc.collectionId)!;
  let budget = MAX_DOCUMENT_CHARS;
  const chunks: Array<{ chunk_id: string; heading_path: string[]; text: string }> = [];
  for (const c of doc.chunks) {
    if (budget <= 0) break;
    const text = c.text.length > budget ? c.text.slice(0, budget) : c.text;
    budget -= text.length;
    chunks.push({ chunk_id: c.id, heading_path: c.headingPath, text });
  }
  return {
    id: doc.id,
    title: doc.title,
    url: passageLink(t.origin, { url: doc.url, documentId: doc.id, chunkId: "", anchor: null }),
    breadcrumb: doc.breadcrumb,
    collection: { id: collection.id, slug: collection.slug, name: collection.name },
    updated_at: doc.sourceUpdatedAt,
    chunks,
    truncated: budget <= 0 && chunks.reduce((n, c) => n + c.text.length, 0) < doc.chunks.reduce((n, c) => n + c.text.length, 0),
  };
}
