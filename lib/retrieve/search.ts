// Hybrid search in ONE SQL statement: HNSW nearest neighbours and BM25 over the chunk_terms postings,
// fused with Reciprocal Rank Fusion. Every stage's rank and score comes back with each row, so the
// admin retrieval page and the query log can show why a chunk was picked.
//
// BM25 (Robertson/Sparck Jones idf, k1 0.9, b 0.4 — Anserini's defaults) is computed in SQL from
// chunk_terms (one row per distinct lexeme of a chunk, kept by triggers from chunks.tsv, see the
// 20261122020000 migration). Query lexemes come from to_tsvector('english', question), i.e. the same
// stemming and stop words as the index, OR-ed (websearch_to_tsquery's implicit AND drops every chunk
// missing one word, which is what makes naive PostgreSQL full-text search score far below BM25).
import type { Db } from "../db/client";
import { Prisma } from "../db/generated/client";

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
}

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
  const [row] = await db.prisma.$queryRaw<Array<{ n: number; avgdl: number | null }>>`
    SELECT count(*)::int AS n, avg(dl)::float8 AS avgdl FROM chunk_lengths`;
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
/** Candidates (by the rarer terms' score) that common terms are added to. */
const COMMON_POOL = 1000;
const DF_TTL_MS = 10 * 60_000;
const dfCache = new WeakMap<Db, Map<string, { df: number; at: number }>>();

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
  const rows = await db.prisma.$queryRaw<Array<{ lexeme: string; qtf: number; bounded: number }>>`
    SELECT u.lexeme, cardinality(u.positions)::int AS qtf,
      (SELECT count(*)::int FROM (SELECT 1 FROM chunk_terms ct WHERE ct.lexeme = u.lexeme LIMIT ${cap + 1}) s) AS bounded
    FROM unnest(to_tsvector('english', ${query})) AS u`;
  let cache = dfCache.get(db);
  if (!cache) dfCache.set(db, (cache = new Map()));
  const out: QueryTerm[] = [];
  for (const r of rows) {
    if (r.bounded === 0) continue;
    if (r.bounded <= cap) {
      out.push({ lexeme: r.lexeme, qtf: r.qtf, df: r.bounded, common: false });
      continue;
    }
    // A common term's exact frequency is counted once and cached: it moves slowly and matters little.
    let hit = cache.get(r.lexeme);
    if (!hit || Date.now() - hit.at > DF_TTL_MS) {
      const [c] = await db.prisma.$queryRaw<Array<{ df: number }>>`SELECT count(*)::int AS df FROM chunk_terms WHERE lexeme = ${r.lexeme}`;
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

export async function hybridSearch(db: Db, opts: SearchOptions): Promise<SearchRow[]> {
  if (opts.collectionIds && opts.collectionIds.length === 0) return [];
  const stats = await corpusStats(db);
  const ids = opts.collectionIds;
  const filterC = ids ? Prisma.sql`AND c.collection_id = ANY(${ids}::uuid[])` : Prisma.empty;
  const filterT = ids ? Prisma.sql`AND ct.collection_id = ANY(${ids}::uuid[])` : Prisma.empty;
  const k = opts.perStage;

  const vec = opts.embedding
    ? Prisma.sql`
      SELECT id, dist, row_number() OVER (ORDER BY dist, id) AS rank FROM (
        SELECT c.id, (c.embedding <=> ${vectorLiteral(opts.embedding)}::vector) AS dist
        FROM chunks c
        WHERE true ${filterC}
        ORDER BY c.embedding <=> ${vectorLiteral(opts.embedding)}::vector
        LIMIT ${k}
      ) v
      -- Filtering NULL vectors outside the LIMIT keeps the inner query a plain HNSW index scan.
      WHERE dist IS NOT NULL`
    : Prisma.sql`SELECT NULL::uuid AS id, NULL::float8 AS dist, NULL::bigint AS rank WHERE false`;

  const terms = await queryTerms(db, opts.query, stats.n);
  // idf per term (Robertson/Sparck Jones, +1 inside the log as Lucene/Anserini do) times query frequency.
  const weights = terms.map((t) => {
    const n = Math.max(stats.n, t.df);
    return t.qtf * Math.log(1 + (n - t.df + 0.5) / (t.df + 0.5));
  });
  const avgdl = stats.avgdl || 1;
  const tfNorm = (alias: string) =>
    Prisma.raw(`${alias}.tf * ${BM25_K1 + 1} / (${alias}.tf + ${BM25_K1} * (1 - ${BM25_B} + ${BM25_B} * ${alias}.dl / ${avgdl}))`);
  const query = Prisma.sql`
    WITH
    vec AS (${vec}),
    w AS (
      SELECT * FROM unnest(${terms.map((t) => t.lexeme)}::text[], ${weights}::float8[], ${terms.map((t) => t.common)}::bool[])
        AS w(lexeme, wt, common)
    ),
    part AS (
      SELECT ct.chunk_id, sum(w.wt * ${tfNorm("ct")}) AS score
      FROM w JOIN chunk_terms ct ON ct.lexeme = w.lexeme
      WHERE NOT w.common ${filterT}
      GROUP BY ct.chunk_id
      ORDER BY score DESC, ct.chunk_id
      LIMIT ${COMMON_POOL}
    ),
    -- LATERAL makes these primary-key probes (lexeme, chunk_id) per candidate: a join could read the
    -- common term's whole posting list instead, which is what this path exists to avoid.
    bm AS (
      SELECT p.chunk_id AS id, p.score + coalesce(e.score, 0) AS score
      FROM part p LEFT JOIN LATERAL (
        SELECT sum(w.wt * ${tfNorm("ct")}) AS score
        FROM w JOIN chunk_terms ct ON ct.lexeme = w.lexeme AND ct.chunk_id = p.chunk_id
        WHERE w.common
      ) e ON true
    ),
    txt AS (
      SELECT id, score, row_number() OVER (ORDER BY score DESC, id) AS rank
      FROM (SELECT id, score FROM bm ORDER BY score DESC, id LIMIT ${k}) t
    ),
    fused AS (
      SELECT coalesce(v.id, t.id) AS id, v.rank AS vrank, v.dist, t.rank AS trank, t.score AS bm25,
        coalesce(1.0 / (${RRF_K} + v.rank), 0) + coalesce(1.0 / (${RRF_K} + t.rank), 0) AS rrf
      FROM vec v FULL OUTER JOIN txt t ON t.id = v.id
    )
    SELECT f.id::text AS "chunkId", c.document_id::text AS "documentId", c.collection_id::text AS "collectionId",
      c.position, c.heading_path AS "headingPath", c.anchor, c.text, c.token_count AS "tokenCount",
      d.title, d.url, d.breadcrumb,
      f.vrank::int AS "vectorRank", (1 - f.dist)::float8 AS "vectorScore",
      f.trank::int AS "textRank", f.bm25::float8 AS "textScore", f.rrf::float8 AS "fusedScore"
    FROM fused f
    JOIN chunks c ON c.id = f.id
    JOIN documents d ON d.id = c.document_id
    WHERE d.deleted_at IS NULL
    ORDER BY f.rrf DESC, f.id`;

  // SET LOCAL needs a transaction. iterative_scan lets the HNSW scan continue past ef_search when the
  // collection filter removes candidates (pgvector ≥ 0.8), so a small collection still gets k results.
  // Both settings in one statement: one round trip fewer on every question.
  const [, rows] = await db.prisma.$transaction([
    db.prisma.$queryRaw`SELECT set_config('hnsw.ef_search', ${String(Math.max(opts.efSearch, k) | 0)}, true),
                               set_config('hnsw.iterative_scan', ${ids ? "relaxed_order" : "off"}, true)`,
    db.prisma.$queryRaw<Array<Omit<SearchRow, "fusedRank">>>(query),
  ]);
  return rows.map((r, i) => ({ ...r, fusedRank: i + 1 }));
}
