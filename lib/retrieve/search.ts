// Hybrid search in ONE SQL statement: HNSW nearest neighbours and BM25 over the chunk_terms postings,
// fused with Reciprocal Rank Fusion, each ranking weighted (per collection, lib/retrieve/fusion.ts). Every stage's rank and score comes back with each row, so the
// admin retrieval page and the query log can show why a chunk was picked.
//
// BM25 (Robertson/Sparck Jones idf, k1 0.9, b 0.4 — Anserini's defaults) is computed in SQL from
// chunk_terms (one row per distinct lexeme of a chunk, kept by triggers from chunks.tsv, see the
// 20261122020000 migration). Query lexemes come from to_tsvector('english', question), i.e. the same
// stemming and stop words as the index, OR-ed (websearch_to_tsquery's implicit AND drops every chunk
// missing one word, which is what makes naive PostgreSQL full-text search score far below BM25).
import { getConfig } from "../config";
import type { Db } from "../db/client";
import { searchSlots } from "./slots";
import { chunkLengthStats, hybridSearchRows, lexemeDocumentFrequency, queryLexemes, tsvMostCommonElems } from "./queries";

export { BM25_B, BM25_K1, RRF_K } from "./queries";

export interface SearchOptions {
  query: string;
  /** The query's embedding, or null when no embedder is reachable (full-text only). */
  embedding: number[] | null;
  /** null: every collection; []: none (nothing is returned). */
  collectionIds: string[] | null;
  /** Candidates taken from each stage before fusion. */
  perStage: number;
  /** HNSW candidate list size; higher raises recall and cost. */
  efSearch: number;
  /** Rows returned (best fused first); default: every fused candidate of both stages. */
  limit?: number;
  /** The full-text half's inputs when already read (retrieve() reads them during the embedding). */
  text?: TextQuery;
  /**
   * What each ranking counts in the fusion: one pair for the whole search (default equal, plain RRF), or
   * "per-collection" to weigh each chunk by its collection's saved weights (searches over collections
   * whose weights differ).
   */
  weights?: FusionWeights | "per-collection";
}

/** Weighted Reciprocal Rank Fusion: score = vector / (RRF_K + vector rank) + text / (RRF_K + text rank). */
export interface FusionWeights {
  vector: number;
  text: number;
}
export const EQUAL_WEIGHTS: FusionWeights = { vector: 1, text: 1 };

export interface SearchRow {
  chunkId: string;
  documentId: string;
  collectionId: string;
  position: number;
  headingPath: string[];
  anchor: string | null;
  text: string;
  tokenCount: number;
  title: string;
  url: string | null;
  breadcrumb: string[];
  /** 1-based rank in the vector stage, null when not among its candidates. */
  vectorRank: number | null;
  /** Cosine similarity (1 − cosine distance). */
  vectorScore: number | null;
  textRank: number | null;
  /** BM25 score. */
  textScore: number | null;
  fusedScore: number;
  /** 1-based rank after fusion. */
  fusedRank: number;
}

interface Stats {
  n: number;
  avgdl: number;
  at: number;
}
const STATS_TTL_MS = 60_000;
/** Below this many chunks the corpus statistics are recomputed on every query (it costs < 2 ms). */
const STATS_CACHE_FROM = 20_000;
const statsCache = new WeakMap<Db, Stats>();

/**
 * Corpus size and average chunk length for BM25. On a large corpus they move slowly (chunks are
 * token-bounded), so they are cached for a minute instead of scanning chunk_lengths on every query.
 */
export async function corpusStats(db: Db, fresh = false): Promise<{ n: number; avgdl: number }> {
  const cached = statsCache.get(db);
  if (!fresh && cached && cached.n >= STATS_CACHE_FROM && Date.now() - cached.at < STATS_TTL_MS) return cached;
  const row = await chunkLengthStats(db);
  const stats = { n: row?.n ?? 0, avgdl: row?.avgdl ?? 1, at: Date.now() };
  statsCache.set(db, stats);
  return stats;
}

/**
 * Terms whose postings are longer than this (2% of the chunks, at least 1,000, at most
 * RETRIEVE_COMMON_POSTINGS_MAX when set) are "common": they are not read in full. Their weight is
 * added only to the best candidates found through the rarer terms — or, when every term is common,
 * through the rarest one — by probing the postings' primary key,
 * the way MaxScore-style engines skip long posting lists. Their idf is small, so the ranking barely moves
 * (bench:quality), while a query with one very frequent word no longer aggregates a posting per chunk.
 */
export const commonDf = (n: number, max = getConfig().RETRIEVE_COMMON_POSTINGS_MAX) =>
  Math.max(1000, max > 0 ? Math.min(Math.ceil(n * 0.02), max) : Math.ceil(n * 0.02));
const DF_TTL_MS = 10 * 60_000;
const dfCache = new WeakMap<Db, Map<string, { df: number; at: number }>>();

const mceCache = new WeakMap<Db, { at: number; freqs: Promise<Map<string, number>> }>();

/**
 * The fraction of chunks containing each of the most common lexemes, from ANALYZE's statistics of
 * chunks.tsv (pg_stats.most_common_elems: up to ten times the statistics target, i.e. 1,000 lexemes by
 * default, estimated from a sample). Empty until the table has been analysed (autovacuum does it after
 * an import), and on the embedded database, which has no autovacuum: counting is the fallback there.
 */
export function commonLexemeFrequencies(db: Db): Promise<Map<string, number>> {
  const hit = mceCache.get(db);
  if (hit && Date.now() - hit.at < DF_TTL_MS) return hit.freqs;
  const freqs = tsvMostCommonElems(db)
    .then((row) => new Map((row?.elems ?? []).map((lexeme, i) => [lexeme, row!.freqs![i]!] as const)))
    .catch(() => new Map<string, number>());
  mceCache.set(db, { at: Date.now(), freqs });
  return freqs;
}

/**
 * Lexemes whose estimated document frequency is clearly above the cap (by a quarter: ANALYZE's figures are
 * estimates from a sample), so counting their postings would only confirm that they are common.
 */
const CLEARLY_COMMON = 1.25;
const knownCommonCache = new WeakMap<Map<string, number>, { n: number; lexemes: string[] }>();
function knownCommonLexemes(frequencies: Map<string, number>, n: number, cap: number): string[] {
  const hit = knownCommonCache.get(frequencies);
  if (hit && hit.n === n) return hit.lexemes;
  const lexemes = [...frequencies].filter(([, f]) => f * n > CLEARLY_COMMON * cap).map(([lexeme]) => lexeme);
  knownCommonCache.set(frequencies, { n, lexemes });
  return lexemes;
}

export interface QueryTerm {
  lexeme: string;
  qtf: number;
  df: number;
  common: boolean;
}

/** The question's lexemes (english stemming and stop words, as in chunks.tsv) with document frequencies. */
export async function queryTerms(db: Db, query: string, n: number): Promise<QueryTerm[]> {
  const cap = commonDf(n);
  // Counting stops at cap + 1: a frequent word costs no more than a rare one here. Words ANALYZE already
  // knows to be well past the cap are not counted at all (their frequency comes from its statistics below).
  const frequencies = await commonLexemeFrequencies(db);
  const rows = await queryLexemes(db.sql, query, cap + 1, knownCommonLexemes(frequencies, n, cap));
  let cache = dfCache.get(db);
  if (!cache) dfCache.set(db, (cache = new Map()));
  const out: QueryTerm[] = [];
  for (const r of rows) {
    if (r.bounded === 0) continue;
    if (r.bounded <= cap) {
      out.push({ lexeme: r.lexeme, qtf: r.qtf, df: r.bounded, common: false });
      continue;
    }
    // A common term's frequency comes from the planner's statistics when ANALYZE has seen it (a
    // counting scan of a long posting list costs tens of milliseconds on the first question using the
    // word); otherwise it is counted once and cached. It moves slowly and its weight is small.
    const freq = frequencies.get(r.lexeme);
    if (freq !== undefined) {
      out.push({ lexeme: r.lexeme, qtf: r.qtf, df: Math.max(cap + 1, Math.round(freq * n)), common: true });
      continue;
    }
    let hit = cache.get(r.lexeme);
    if (!hit || Date.now() - hit.at > DF_TTL_MS) {
      const df = await lexemeDocumentFrequency(db, r.lexeme);
      hit = { df: df ?? r.bounded, at: Date.now() };
      cache.set(r.lexeme, hit);
    }
    out.push({ lexeme: r.lexeme, qtf: r.qtf, df: hit.df, common: true });
  }
  // With only common terms, the rarest of them narrows the candidates (a one-term query is exact).
  if (out.length > 0 && out.every((t) => t.common)) out.reduce((a, b) => (b.df < a.df ? b : a)).common = false;
  return out;
}

/** The full-text half's inputs: corpus statistics and the question's terms with their frequencies. */
export interface TextQuery {
  stats: { n: number; avgdl: number };
  terms: QueryTerm[];
}

/** Needs no embedding: retrieve() runs it while the question is being embedded. */
export async function textQuery(db: Db, query: string): Promise<TextQuery> {
  const stats = await corpusStats(db);
  return { stats, terms: await queryTerms(db, query, stats.n) };
}

export async function hybridSearch(db: Db, opts: SearchOptions): Promise<SearchRow[]> {
  if (opts.collectionIds && opts.collectionIds.length === 0) return [];
  const text = opts.text ?? (await textQuery(db, opts.query));
  const search = () => hybridSearchRows(db, { ...opts, weights: opts.weights ?? EQUAL_WEIGHTS }, text);
  // With RETRIEVE_MAX_CONCURRENT set, past the process's search slots the statement waits here rather than
  // contend inside PostgreSQL.
  const limit = getConfig().RETRIEVE_MAX_CONCURRENT;
  const rows = limit > 0 ? await searchSlots(db, limit).run(search) : await search();
  return rows.map((r, i) => ({ ...r, fusedRank: i + 1 }));
}
