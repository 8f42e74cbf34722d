// Retrieval's SQL: the hybrid search statement and the BM25 inputs it needs (search.ts holds the logic
// around them: caches, which terms count as common), and the retrieval settings.
import type { Db } from "../db/client";
import type { SqlRunner } from "../db/sql-runner";
import type { FusionWeights, QueryTerm, SearchOptions, SearchRow, TextQuery } from "./search";

export const BM25_K1 = 0.9;
export const BM25_B = 0.4;
/** RRF's constant (Cormack et al.); 60 is the customary value and what pgvector's example uses. */
export const RRF_K = 60;
/**
 * At most this many candidates per requested text candidate (by the rarer terms' score) get the common
 * terms added, when the exact bound below cannot prune. 6× keeps nDCG@10 and Recall@100 on SciFact at the
 * BM25 reference (bench:quality) at a third of the probes a fixed 1,000 cost.
 */
const COMMON_POOL_PER_K = 6;

/** Corpus size and average chunk length (BM25's N and avgdl). */
export async function chunkLengthStats(db: Db): Promise<{ n: number; avgdl: number | null } | undefined> {
  const [row] = await db.sql.query<{ n: number; avgdl: number | null }>(`SELECT count(*)::int AS n, avg(dl)::float8 AS avgdl FROM chunk_lengths`);
  return row;
}

/** ANALYZE's most common lexemes of chunks.tsv and their frequencies (none before the first ANALYZE). */
export async function tsvMostCommonElems(db: Db): Promise<{ elems: string[] | null; freqs: number[] | null } | undefined> {
  const [row] = await db.sql.query<{ elems: string[] | null; freqs: number[] | null }>(
    `SELECT most_common_elems::text::text[] AS elems, most_common_elem_freqs AS freqs
       FROM pg_stats WHERE schemaname = current_schema() AND tablename = 'chunks' AND attname = 'tsv'`,
  );
  return row;
}

/**
 * The question's lexemes with their query frequency and their postings counted up to `countUpTo` — except
 * those in `knownCommon`, which are not counted (reported as `countUpTo`): counting a long posting list
 * up to the cap reads thousands of index entries, the largest part of a question's full-text cost.
 */
export async function queryLexemes(
  sql: SqlRunner,
  query: string,
  countUpTo: number,
  knownCommon: readonly string[] = [],
): Promise<Array<{ lexeme: string; qtf: number; bounded: number }>> {
  return sql.query<{ lexeme: string; qtf: number; bounded: number }>(
    `SELECT u.lexeme, cardinality(u.positions)::int AS qtf,
       CASE WHEN u.lexeme = ANY($3::text[]) THEN $2::int
            ELSE (SELECT count(*)::int FROM (SELECT 1 FROM chunk_terms ct WHERE ct.lexeme = u.lexeme LIMIT $2) s) END AS bounded
     FROM unnest(to_tsvector('english', $1)) AS u`,
    [query, countUpTo, knownCommon],
  );
}

/** How many chunks contain a lexeme (its whole posting list counted). */
export async function lexemeDocumentFrequency(db: Db, lexeme: string): Promise<number | undefined> {
  const [c] = await db.sql.query<{ df: number }>(`SELECT count(*)::int AS df FROM chunk_terms WHERE lexeme = $1`, [lexeme]);
  return c?.df;
}

const vectorLiteral = (v: number[]) => `[${v.map((x) => (Number.isFinite(x) ? x : 0)).join(",")}]`;

/** Positional parameters of one statement: `p(value)` appends and returns its `$n`. */
function params() {
  const values: unknown[] = [];
  return { values, p: (v: unknown) => `$${values.push(v)}` };
}

/**
 * The hybrid search statement (see search.ts): HNSW nearest neighbours and BM25 over chunk_terms, fused
 * with weighted RRF, run with the HNSW settings in one transaction. Rows come back in fused order.
 */
export async function hybridSearchRows(
  db: Db,
  opts: Omit<SearchOptions, "weights"> & { weights: FusionWeights | "per-collection" },
  { stats, terms }: TextQuery,
): Promise<Array<Omit<SearchRow, "fusedRank">>> {
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
  const w = opts.weights;
  const perCollection = w === "per-collection";
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
  return Object.entries(settings).every(([k, v]) => preset?.[k] === v)
    ? await db.sql.query<Omit<SearchRow, "fusedRank">>(query, values)
    : await db.sql.transaction(async (tx) => {
        await tx.query(`SELECT set_config('hnsw.ef_search', $1, true), set_config('hnsw.iterative_scan', $2, true)`, [settings["hnsw.ef_search"], settings["hnsw.iterative_scan"]]);
        return tx.query<Omit<SearchRow, "fusedRank">>(query, values);
      });
}


export interface CollectionFusionRow {
  id: string;
  vectorWeight: number;
  textWeight: number;
  candidates: number | null;
}

/** Every collection's fusion weights and candidates (a handful of rows: read whole and cached). */
export async function collectionFusionRows(db: Db): Promise<CollectionFusionRow[]> {
  return db.sql.query<CollectionFusionRow>(
    `SELECT id::text AS id, fusion_vector_weight AS "vectorWeight", fusion_text_weight AS "textWeight", retrieve_candidates AS candidates FROM collections`,
  );
}

/** Saves a collection's fusion settings and what the tuning that chose them measured; false: no such collection. */
export async function saveCollectionFusion(
  db: Db,
  collectionId: string,
  s: { vectorWeight: number; textWeight: number; candidates: number | null; tuning: unknown },
): Promise<boolean> {
  const rows = await db.sql.query(
    `UPDATE collections SET fusion_vector_weight = $2, fusion_text_weight = $3, retrieve_candidates = $4, fusion_tuning = $5::jsonb, updated_at = now()
      WHERE id = $1 RETURNING id`,
    [collectionId, s.vectorWeight, s.textWeight, s.candidates, s.tuning === null ? null : JSON.stringify(s.tuning)],
  );
  return rows.length === 1;
}

/** Documents of the collections whose id, external id, URL or title is one of `keys` (lower-cased). */
export async function documentsMatching(
  db: Db,
  collectionIds: readonly string[],
  keys: readonly string[],
): Promise<Array<{ id: string; externalId: string; url: string | null; title: string }>> {
  if (keys.length === 0 || collectionIds.length === 0) return [];
  return db.sql.query(
    `SELECT id::text AS id, external_id AS "externalId", url, title FROM documents
      WHERE collection_id = ANY($1::uuid[]) AND deleted_at IS NULL
        AND (id::text = ANY($2::text[]) OR lower(external_id) = ANY($2::text[]) OR lower(url) = ANY($2::text[]) OR lower(title) = ANY($2::text[]))`,
    [collectionIds, keys],
  );
}
