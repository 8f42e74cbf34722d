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

  // N is at least each term's document frequency, so idf stays positive even with stale statistics.
  const query = Prisma.sql`
    WITH
    vec AS (${vec}),
    qt AS (
      SELECT lexeme, cardinality(positions)::float8 AS qtf FROM unnest(to_tsvector('english', ${opts.query}))
    ),
    post AS MATERIALIZED (
      SELECT ct.lexeme, ct.chunk_id, ct.tf, ct.dl
      FROM qt JOIN chunk_terms ct ON ct.lexeme = qt.lexeme
      WHERE true ${filterT}
    ),
    df AS (SELECT lexeme, count(*)::float8 AS df FROM post GROUP BY lexeme),
    bm AS (
      SELECT p.chunk_id AS id,
        sum(qt.qtf
            * ln(1 + (greatest(${stats.n}::float8, df.df) - df.df + 0.5) / (df.df + 0.5))
            * p.tf * (${BM25_K1}::float8 + 1)
            / (p.tf + ${BM25_K1}::float8 * (1 - ${BM25_B}::float8 + ${BM25_B}::float8 * p.dl / ${stats.avgdl || 1}::float8))
        ) AS score
      FROM post p JOIN df USING (lexeme) JOIN qt USING (lexeme)
      GROUP BY p.chunk_id
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
  const [, , rows] = await db.prisma.$transaction([
    db.prisma.$executeRawUnsafe(`SET LOCAL hnsw.ef_search = ${Math.max(opts.efSearch, k) | 0}`),
    db.prisma.$executeRawUnsafe(`SET LOCAL hnsw.iterative_scan = ${ids ? "relaxed_order" : "off"}`),
    db.prisma.$queryRaw<Array<Omit<SearchRow, "fusedRank">>>(query),
  ]);
  return rows.map((r, i) => ({ ...r, fusedRank: i + 1 }));
}
