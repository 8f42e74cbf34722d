// retrieve(query, { collectionIds, k }): embed the question (search_query: prefix), hybrid search in
// PostgreSQL (HNSW + BM25 fused with RRF, weighted per collection), then rerank the best fused candidates with the rerank worker.
// Each degraded part (no embedder, no reranker) is reported, never hidden: full-text search alone still
// answers when Ollama is down.
import { getConfig } from "../config";
import { getDb, type Db } from "../db/client";
import { getLlm, isLlmUnavailable } from "../llm";
import { fusionFor } from "./fusion";
import { rerank, type RerankStatus } from "./rerank";
import { hybridSearch, textQuery, type SearchRow } from "./search";

export { BM25_B, BM25_K1, RRF_K, EQUAL_WEIGHTS, hybridSearch, corpusStats, type FusionWeights, type SearchRow } from "./search";
export { rerank, type RerankOutcome, type RerankStatus } from "./rerank";

export interface Candidate extends SearchRow {
  /** Cross-encoder score, when reranked. */
  rerankScore: number | null;
  /** 1-based final rank (after reranking when it happened, else the fused rank). */
  rank: number;
}

export interface RetrieveOptions {
  /** Collections to search (already resolved against the principal); null: all. */
  collectionIds: string[] | null;
  /** Candidates returned (after reranking). Default: every reranked candidate. */
  k?: number;
  signal?: AbortSignal;
  /** Skip the reranker (the admin page shows both orders; evaluation may pin it off). */
  rerank?: boolean;
  /** Return every candidate of both stages in `fused` (the admin retrieval page), not just the rerank pool. */
  allStages?: boolean;
  db?: Db;
}

export interface RetrieveResult {
  candidates: Candidate[];
  /** Fused rows in fused order: the rerank pool, or every candidate of both stages with `allStages`. */
  fused: SearchRow[];
  embed: { status: "ok" | "unavailable"; model: string; error?: string };
  rerank: { status: RerankStatus; model?: string; reason?: string };
  timings: { embedMs: number; retrieveMs: number; rerankMs: number };
}

export async function retrieve(query: string, opts: RetrieveOptions): Promise<RetrieveResult> {
  const config = getConfig();
  const db = opts.db ?? (await getDb());
  const llm = getLlm();

  // The question's embedding (an Ollama round trip) and the full-text terms' statistics (a query) do
  // not depend on each other: both run at once, and only the search itself waits for the embedding.
  const started = performance.now();
  let embedMs = 0;
  let embed: RetrieveResult["embed"] = { status: "ok", model: llm.models.embed };
  const embedding = (async (): Promise<number[] | null> => {
    try {
      return ((await llm.embed([query], "query")) as [number[]])[0];
    } catch (err) {
      if (!isLlmUnavailable(err)) throw err;
      embed = { status: "unavailable", model: llm.models.embed, error: err.message };
      return null;
    } finally {
      embedMs = Math.round(performance.now() - started);
    }
  })();
  const [vector, text, fusion] = await Promise.all([embedding, textQuery(db, query), fusionFor(db, opts.collectionIds, config.RETRIEVE_CANDIDATES)]);
  const fused = await hybridSearch(db, {
    query,
    embedding: vector,
    text,
    collectionIds: opts.collectionIds,
    perStage: fusion.perStage,
    weights: fusion.weights,
    efSearch: config.RETRIEVE_EF_SEARCH,
    // Reading chunk and page rows only for the pool saves most of the statement's page reads.
    limit: opts.allStages ? undefined : config.RERANK_CANDIDATES,
  });
  // Retrieval time not hidden behind the embedding.
  const retrieveMs = Math.max(0, Math.round(performance.now() - started) - embedMs);

  const pool = fused.slice(0, config.RERANK_CANDIDATES);
  let candidates: Candidate[] = pool.map((r) => ({ ...r, rerankScore: null, rank: r.fusedRank }));
  let rerankInfo: RetrieveResult["rerank"];
  let rerankMs = 0;
  if (opts.rerank === false) {
    rerankInfo = { status: "disabled", reason: "not requested" };
  } else {
    const outcome = await rerank(query, pool.map(rerankText), {
      url: config.RERANK_URL,
      timeoutMs: config.RERANK_TIMEOUT_MS,
      signal: opts.signal,
    });
    rerankMs = outcome.ms;
    if (outcome.status === "reranked") {
      candidates = candidates
        .map((c, i) => ({ ...c, rerankScore: outcome.scores[i]! }))
        .sort((a, b) => b.rerankScore! - a.rerankScore! || a.fusedRank - b.fusedRank)
        .map((c, i) => ({ ...c, rank: i + 1 }));
      rerankInfo = { status: "reranked", model: outcome.model };
    } else {
      rerankInfo = { status: outcome.status, reason: outcome.reason };
    }
  }
  if (opts.k !== undefined) candidates = candidates.slice(0, opts.k);
  return { candidates, fused, embed, rerank: rerankInfo, timings: { embedMs, retrieveMs, rerankMs } };
}


/** What the cross-encoder reads: the page title and section path give a bare passage its context. */
export function rerankText(r: Pick<SearchRow, "title" | "headingPath" | "text">): string {
  const head = [r.title, ...r.headingPath.filter((h) => h !== r.title)].join(" › ");
  return `${head}\n${r.text}`;
}
