// Hybrid search in ONE SQL statement: HNSW nearest neighbours and BM25 over the chunk_terms postings,
// fused with Reciprocal Rank Fusion, each ranking weighted (per collection, lib/retrieve/fusion.ts). Every stage's rank and score comes back with each row, so the
// admin retrieval page and the query log can show why a chunk was picked.
//
// BM25 (Robertson/Sparck Jones idf, k1 0.9, b 0.4 — Anserini's defaults) is computed in SQL from
// chunk_terms (one row per distinct lexeme of a chunk, kept by triggers from chunks.tsv, see the
// 20261122020000 migration). Query lexemes come from to_tsvector('english', question), i.e. the same
// stemming and stop words as the index, OR-ed (websearch_to_tsquery's implicit AND drops every chunk
// missing one word, which is what makes naive PostgreSQL full-text search score far below BM25).
import type { Db } from "../db/client";

export const BM25_K1 = 0.9;
export const BM25_B = 0.4;
/** RRF's constant (Cormack et al.); 60 is the customary value and what pgvector's example uses. */
export const RRF_K = 60;

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
  const [row] = await db.sql.query<{ n: number; avgdl: number | null }>(`SELECT count(*)::int AS n, avg(dl)::float8 AS avgdl FROM chunk_lengths`);
  const stats = { n: row?.n ?? 0, avgdl: row?.avgdl ?? 1, at: Date.now() };
  statsCache.set(db, stats);
  return stats;
}

/**
 * Terms whose postings are longer than this are "common": they are not read in full. Their weight is
 * added only to the best candidates found through the rarer terms — or, when every term is common,
 * through the rarest one — by probing the postings' primary key,
 * the way MaxScore-style engines skip long posting lists. Their idf is small, so the ranking barely moves
 * (bench:quality), while a query with one very frequent word no longer aggregates a posting per chunk.
 */
export const commonDf = (n: number) => Math.max(1000, Math.ceil(n * 0.02));
/**
 * At most this many candidates per requested text candidate (by the rarer terms' score) get the common
 * terms added, when the exact bound below cannot prune. 6× keeps nDCG@10 and Recall@100 on SciFact at the
 * BM25 reference (bench:quality) at a third of the probes a fixed 1,000 cost.
 */
const COMMON_POOL_PER_K = 6;
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
  const freqs = db.sql
    .query<{ elems: string[] | null; freqs: number[] | null }>(
      `SELECT most_common_elems::text::text[] AS elems, most_common_elem_freqs AS freqs
       FROM pg_stats WHERE schemaname = current_schema() AND tablename = 'chunks' AND attname = 'tsv'`,
    )
    .then(([row]) => new Map((row?.elems ?? []).map((lexeme, i) => [lexeme, row!.freqs![i]!] as const)))
    .catch(() => new Map<string, number>());
  mceCache.set(db, { at: Date.now(), freqs });
  return freqs;
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
  // Counting stops at cap + 1: a frequent word costs no more than a rare one here.
  const rows = await db.sql.query<{ lexeme: string; qtf: number; bounded: number }>(
    `SELECT u.lexeme, cardinality(u.positions)::int AS qtf,
       (SELECT count(*)::int FROM (SELECT 1 FROM chunk_terms ct WHERE ct.lexeme = u.lexeme LIMIT $2) s) AS bounded
     FROM unnest(to_tsvector('english', $1)) AS u`,
    [query, cap + 1],
  );
  let cache = dfCache.get(db);
  if (!cache) dfCache.set(db, (cache = new Map()));
  const frequencies = rows.some((r) => r.bounded > cap) ? await commonLexemeFrequencies(db) : null;
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
    const freq = frequencies?.get(r.lexeme);
    if (freq !== undefined) {
      out.push({ lexeme: r.lexeme, qtf: r.qtf, df: Math.max(cap + 1, Math.round(freq * n)), common: true });
      continue;
    }
    let hit = cache.get(r.lexeme);
    if (!hit || Date.now() - hit.at > DF_TTL_MS) {
      const [c] = await db.sql.query<{ df: number }>(`SELECT count(*)::int AS df FROM chunk_terms WHERE lexeme = $1`, [r.lexeme]);
      hit = { df: c?.df ?? r.bounded, at: Date.now() };
      cache.set(r.lexeme, hit);
    }
    out.push({ lexeme: r.lexeme, qtf: r.qtf, df: hit.df, common: true });
  }
  // With only common terms, the rarest of them narrows the candidates (a one-term query is exact).
  if (out.length > 0 && out.every((t) => t.common)) out.reduce((a, b) => (b.df < a.df ? b : a)).common = false;
  return out;
}

const vectorLiteral = (v: number[]) => `[${v.map((x) => (Number.isFinite(x) ? x : 0)).join(",")}]`;

/** Positional parameters of one statement: `p(value)` appends and returns its `$n`. */
function params() {
  const values: unknown[] = [];
  return { values, p: (v: unknown) => `$${values.push(v)}` };
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
  const { stats, terms } = opts.text ?? (await textQuery(db, opts.query));
  const { values, p } = params();
  const ids = opts.collectionIds ? p(opts.collectionIds) : null;
  const filterC = ids ? `AND c.collection_id = ANY(${ids}::uuid[])` : "";
  const filterT = ids ? `AND ct.collection_id = ANY(${ids}::uuid[])` : "";
  const k = p(opts.perStage);

  let vec = `SELECT NULL::uuid AS id, NULL::float8 AS dist, NULL::bigint AS rank WHERE false`;
  if (opts.embedding) {
    const v = p(vectorLiteral(opts.embedding));
    vec = `
      SELECT id, dist, row_number() OVER (ORDER BY dist, id) AS rank FROM (
        SELECT c.id, (c.embedding <=> ${v}::vector) AS dist
        FROM chunks c
        WHERE true ${filterC}
        ORDER BY c.embedding <=> ${v}::vector
        LIMIT ${k}
      ) v
      -- Filtering NULL vectors outside the LIMIT keeps the inner query a plain HNSW index scan.
      WHERE dist IS NOT NULL`;
  }

  // idf per term (Robertson/Sparck Jones, +1 inside the log as Lucene/Anserini do) times query frequency.
  const weight = (t: QueryTerm) => {
    const n = Math.max(stats.n, t.df);
    return t.qtf * Math.log(1 + (n - t.df + 0.5) / (t.df + 0.5));
  };
  const rare = terms.filter((t) => !t.common);
  const common = terms.filter((t) => t.common);
  const avgdl = stats.avgdl || 1;
  const tfNorm = (tf: string, dl: string) => `${tf} * ${BM25_K1 + 1} / (${tf} + ${BM25_K1} * (1 - ${BM25_B} + ${BM25_B} * ${dl} / ${avgdl}))`;
  // LATERAL makes the common terms primary-key probes (lexeme, chunk_id) per candidate: a join could
  // read a common term's whole posting list instead, which is what this path exists to avoid.
  const bm = common.length
    ? `SELECT p.chunk_id AS id, p.score + coalesce(e.score, 0) AS score
       FROM part p LEFT JOIN LATERAL (
         SELECT sum(cw.wt * ${tfNorm("ct.tf", "ct.dl")}) AS score
         FROM unnest(${p(common.map((t) => t.lexeme))}::text[], ${p(common.map(weight))}::float8[]) AS cw(lexeme, wt)
         JOIN chunk_terms ct ON ct.lexeme = cw.lexeme AND ct.chunk_id = p.chunk_id
       ) e ON true`
    : `SELECT chunk_id AS id, score FROM part`;
  // MaxScore-style pruning, exact: together the common terms add at most `commonMax` to any chunk, so a
  // candidate whose rare-term score is below the k-th best rare-term score minus commonMax can never
  // reach the top k — it is not probed. COMMON_POOL_PER_K caps the probes when the bound cannot prune.
  const commonMax = common.reduce((sum, t) => sum + weight(t) * (BM25_K1 + 1), 0);
  const hydrate = opts.limit ? `LIMIT ${p(opts.limit)}` : "";
  // Weights: parameters for the whole search, or each candidate's collection's columns (a primary-key
  // lookup per candidate, only when the searched collections are weighted differently).
  const perCollection = opts.weights === "per-collection";
  const w = opts.weights && opts.weights !== "per-collection" ? opts.weights : EQUAL_WEIGHTS;
  const wv = perCollection ? "col.fusion_vector_weight" : `${p(w.vector)}::float8`;
  const wt = perCollection ? "col.fusion_text_weight" : `${p(w.text)}::float8`;
  const weighJoin = perCollection ? "JOIN chunks wc ON wc.id = coalesce(v.id, t.id) JOIN collections col ON col.id = wc.collection_id" : "";
  const query = `
    WITH
    vec AS (${vec}),
    agg AS MATERIALIZED (
      SELECT ct.chunk_id, sum(w.wt * ${tfNorm("ct.tf", "ct.dl")}) AS score
      FROM unnest(${p(rare.map((t) => t.lexeme))}::text[], ${p(rare.map(weight))}::float8[]) AS w(lexeme, wt)
      JOIN chunk_terms ct ON ct.lexeme = w.lexeme
      WHERE true ${filterT}
      GROUP BY ct.chunk_id
    ),
    part AS (
      SELECT chunk_id, score FROM agg
      ${common.length ? `WHERE score >= coalesce((SELECT score FROM agg ORDER BY score DESC LIMIT 1 OFFSET ${k} - 1), 0) - ${p(commonMax)}` : ""}
      ORDER BY score DESC, chunk_id
      LIMIT ${common.length ? p(COMMON_POOL_PER_K * opts.perStage) : k}
    ),
    bm AS (${bm}),
    txt AS (
      SELECT id, score, row_number() OVER (ORDER BY score DESC, id) AS rank
      FROM (SELECT id, score FROM bm ORDER BY score DESC, id LIMIT ${k}) t
    ),
    fused AS (
      SELECT coalesce(v.id, t.id) AS id, v.rank AS vrank, v.dist, t.rank AS trank, t.score AS bm25,
        coalesce(${wv} / (${RRF_K} + v.rank), 0) + coalesce(${wt} / (${RRF_K} + t.rank), 0) AS rrf
      FROM vec v FULL OUTER JOIN txt t ON t.id = v.id
      ${weighJoin}
    ),
    -- Only the rows the caller will read are joined to their chunk and page.
    top AS (SELECT * FROM fused ORDER BY rrf DESC, id ${hydrate})
    SELECT f.id::text AS "chunkId", c.document_id::text AS "documentId", c.collection_id::text AS "collectionId",
      c.position, c.heading_path AS "headingPath", c.anchor, c.text, c.token_count AS "tokenCount",
      d.title, d.url, d.breadcrumb,
      f.vrank::int AS "vectorRank", (1 - f.dist)::float8 AS "vectorScore",
      f.trank::int AS "textRank", f.bm25::float8 AS "textScore", f.rrf::float8 AS "fusedScore"
    FROM top f
    JOIN chunks c ON c.id = f.id
    JOIN documents d ON d.id = c.document_id
    WHERE d.deleted_at IS NULL
    ORDER BY f.rrf DESC, f.id`;

  // HNSW's candidate list, and iterative scans (pgvector ≥ 0.8), which let the scan continue past
  // ef_search when the collection filter removes candidates, so a small collection still gets k results
  // (without a filter they change nothing: the first candidates already fill the LIMIT). The process's
  // connections start with the usual values (searchSessionSettings in lib/db/client.ts): then the search is
  // one statement. Other values are set for one transaction (set_config(…, true) lasts until its end).
  const settings = { "hnsw.ef_search": String(Math.max(opts.efSearch, opts.perStage) | 0), "hnsw.iterative_scan": "relaxed_order" };
  const preset = db.sessionSettings;
  const rows = Object.entries(settings).every(([k, v]) => preset?.[k] === v)
    ? await db.sql.query<Omit<SearchRow, "fusedRank">>(query, values)
    : await db.sql.transaction(async (tx) => {
        await tx.query(`SELECT set_config('hnsw.ef_search', $1, true), set_config('hnsw.iterative_scan', $2, true)`, [settings["hnsw.ef_search"], settings["hnsw.iterative_scan"]]);
        return tx.query<Omit<SearchRow, "fusedRank">>(query, values);
      });
  return rows.map((r, i) => ({ ...r, fusedRank: i + 1 }));
}
