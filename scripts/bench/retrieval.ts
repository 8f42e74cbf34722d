// npm run bench:retrieval [-- --chunks 1000000 --queries 200] — hybrid retrieval (HNSW + BM25 fused with
// RRF, one SQL statement) over synthetic but clustered 768-d vectors with Zipf-distributed text whose topic
// words follow the vector clusters. Prints how the corpus was loaded (each phase, each index build), what
// it occupies on disk and in memory, then p50/p95 of hybridSearch (the question's embedding excluded) and
// vector recall@10 against exact search, over all collections and over one collection (iterative scan).
// The HNSW index is built with the product's settings (VECTOR_INDEX_M / VECTOR_INDEX_EF_CONSTRUCTION,
// RETRIEVE_EF_SEARCH for searches), so a denser graph is measured by setting them for the run.
//
// Options (or environment): --chunks / BENCH_CHUNKS (default 100000), --queries / BENCH_QUERIES (default
// 200), --recall-queries / BENCH_RECALL_QUERIES (how many of them get an exact search for recall; default
// all below 500,000 chunks, 50 above: an exact search reads every vector), BENCH_DATABASE_URL,
// BENCH_MAINTENANCE_WORK_MEM (index builds, default 2GB), BENCH_KEEP=1 / BENCH_DB=<name> (keep, reuse),
// --prewarm (load the HNSW index into shared buffers with pg_prewarm first, as after a restart in production).
import { parseArgs } from "node:util";
import { getConfig } from "@/lib/config";
import type { Db } from "@/lib/db/client";
import { vectorIndexBuilt } from "@/lib/ingest/queries";
import { graphLabel } from "@/lib/ingest/vector-index";
import { commonDf, corpusStats, hybridSearch, textQuery, type SearchRow, type TextQuery } from "@/lib/retrieve/search";
import { backendCpu, cpuSince, fmt, loadAverage, machine, percentile, scratchDb, serverSettings } from "./lib";
import { loadSynthetic } from "./synthetic";

const { values: args } = parseArgs({
  options: { chunks: { type: "string" }, queries: { type: "string" }, "recall-queries": { type: "string" }, prewarm: { type: "boolean" } },
});
const N = Number(args.chunks ?? process.env.BENCH_CHUNKS ?? 100_000);
const Q = Number(args.queries ?? process.env.BENCH_QUERIES ?? 200);
const RECALL_Q = Number(args["recall-queries"] ?? process.env.BENCH_RECALL_QUERIES ?? (N > 500_000 ? Math.min(Q, 50) : Q));
if (!Number.isInteger(N) || N < 1000) throw new Error(`--chunks must be an integer ≥ 1000 (got ${args.chunks ?? process.env.BENCH_CHUNKS})`);
if (!Number.isInteger(Q) || Q < 10) throw new Error(`--queries must be an integer ≥ 10 (got ${args.queries ?? process.env.BENCH_QUERIES})`);
if (!Number.isInteger(RECALL_Q) || RECALL_Q < 1 || RECALL_Q > Q) throw new Error(`--recall-queries must be an integer in 1..${Q}`);

const mb = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MB`;
const s = (ms: number) => `${(ms / 1000).toFixed(0)} s`;

/** Disk size of what a search reads: chunks (heap + TOAST), each of its indexes, the postings and their key. */
async function sizes(db: Db): Promise<string> {
  const rows = await db.sql.query<{ name: string; bytes: string }>(
    `SELECT c.relname AS name, pg_total_relation_size(c.oid) - CASE WHEN c.relkind = 'r' THEN pg_indexes_size(c.oid) ELSE 0 END AS bytes
       FROM pg_class c
      WHERE c.relnamespace = current_schema()::regnamespace
        AND (c.relname IN ('chunks', 'chunk_terms', 'chunk_lengths', 'documents')
             OR c.oid IN (SELECT indexrelid FROM pg_index WHERE indrelid IN ('chunks'::regclass, 'chunk_terms'::regclass)))
      ORDER BY bytes DESC`,
  );
  const [{ total }] = await db.sql.query<{ total: string }>(`SELECT pg_database_size(current_database())::text AS total`);
  return `disk: database ${mb(Number(total))}; ` + rows.map((r) => `${r.name} ${mb(Number(r.bytes))}`).join(", ");
}

/** How much of the HNSW index and the postings' key sit in shared buffers (pg_buffercache, when it can be installed). */
async function cached(db: Db): Promise<string> {
  try {
    await db.sql.exec(`CREATE EXTENSION IF NOT EXISTS pg_buffercache`);
    const rows = await db.sql.query<{ name: string; cached: string; total: string }>(
      `SELECT c.relname AS name, count(b.bufferid)::text AS cached, (pg_relation_size(c.oid) / current_setting('block_size')::int)::text AS total
         FROM pg_class c LEFT JOIN pg_buffercache b ON b.relfilenode = pg_relation_filenode(c.oid)
              AND b.reldatabase = (SELECT oid FROM pg_database WHERE datname = current_database())
        WHERE c.relname IN ('chunks_embedding_hnsw_idx', 'chunk_terms_pkey', 'chunks')
        GROUP BY c.relname, c.oid`,
    );
    return `shared buffers hold: ` + rows.map((r) => `${r.name} ${((100 * Number(r.cached)) / Math.max(1, Number(r.total))).toFixed(0)}%`).join(", ");
  } catch (err) {
    return `shared buffers: pg_buffercache not available (${(err as Error).message})`;
  }
}

async function main() {
  console.log(`bench:retrieval — ${N} chunks, 200 clusters, 10 collections, ${Q} queries (${RECALL_Q} with an exact search for recall)`);
  console.log(machine());
  console.log(`load average at start (1/5/15 min): ${loadAverage()}`);
  const config = getConfig();
  const { db, drop } = await scratchDb("retrieval");
  try {
    const { collections, queries, timings } = await loadSynthetic(db, N, Q);
    const [{ postings }] = await db.sql.query<{ postings: number }>(`SELECT count(*)::int AS postings FROM chunk_terms`);
    console.log(await serverSettings(db));
    const builds = Object.entries(timings.indexMs).map(([name, ms]) => `${name} ${s(ms)}`).join(", ");
    console.log(
      `load: ${N} chunks + ${postings} BM25 postings — COPY ${s(timings.copyMs)}, postings ${s(timings.postingsMs)}, ` +
        `indexes ${s(Object.values(timings.indexMs).reduce((a, b) => a + b, 0))} (${builds || "kept from an earlier load"}), VACUUM ANALYZE ${s(timings.vacuumMs)}; ` +
        `total ${s(timings.copyMs + timings.postingsMs + Object.values(timings.indexMs).reduce((a, b) => a + b, 0) + timings.vacuumMs)}`,
    );
    console.log(await sizes(db));
    const graph = await vectorIndexBuilt(db.sql);
    const graphLine = graph ? graphLabel(graph) : "no HNSW index";
    console.log(`vector index: ${graphLine} (VECTOR_INDEX_M / VECTOR_INDEX_EF_CONSTRUCTION)`);
    if (args.prewarm) {
      const t = performance.now();
      await db.sql.exec(`CREATE EXTENSION IF NOT EXISTS pg_prewarm`);
      const [{ blocks }] = await db.sql.query<{ blocks: number }>(`SELECT pg_prewarm('chunks_embedding_hnsw_idx')::int AS blocks`);
      console.log(`prewarm: ${blocks} blocks of chunks_embedding_hnsw_idx into shared buffers in ${s(performance.now() - t)}`);
    }
    // The full-text half reads every posting of the question's rarer words (all of the rarest one's when
    // every word is common): how long those lists are at this size.
    const read: number[] = [];
    let allCommon = 0;
    const commonAbove = commonDf((await corpusStats(db)).n);
    for (const q of queries) {
      const { terms } = await textQuery(db, q.text);
      const rare = terms.filter((t) => !t.common);
      read.push(rare.reduce((sum, t) => sum + t.df, 0));
      if (rare.length === 1 && rare[0]!.df > commonAbove) allCommon++;
    }
    console.log(
      `postings read per question (words with at most ${commonAbove} postings read in full; RETRIEVE_COMMON_POSTINGS_MAX ${config.RETRIEVE_COMMON_POSTINGS_MAX || "0, no bound"}): ` +
        `p50 ${percentile(read, 50)}, p95 ${percentile(read, 95)}, max ${Math.max(...read)}; ` +
        `questions whose words are all common: ${allCommon} of ${queries.length}`,
    );

    const exact = async (v: number[], filter: string | null) => {
      const rows = await db.sql.transaction(async (tx) => {
        await tx.exec(`SET LOCAL enable_indexscan = off`);
        return tx.query<{ id: string }>(
          `SELECT id::text FROM chunks WHERE ($2::uuid IS NULL OR collection_id = $2::uuid) ORDER BY embedding <=> $1::vector LIMIT 10`,
          [`[${v.join(",")}]`, filter],
        );
      });
      return new Set(rows.map((r) => r.id));
    };

    // Every timed loop runs before any exact search: an exact scan reads every vector and would evict the
    // index pages the timed searches depend on.
    const modes = [false, true].map((filtered) => {
      const search = (q: (typeof queries)[number], limit?: number, which: "both" | "vector" | "text" = "both", text?: TextQuery) =>
        hybridSearch(db, {
          query: which === "vector" ? "" : q.text,
          embedding: which === "text" ? null : q.vector,
          collectionIds: filtered ? [collections[q.collection]!] : null,
          perStage: config.RETRIEVE_CANDIDATES,
          efSearch: config.RETRIEVE_EF_SEARCH,
          limit,
          text,
        });
      return { filtered, search, label: filtered ? "one collection (10%, iterative scan)" : "all collections", line: "", detail: "" };
    });
    for (const m of modes) {
      // Warm-up, then measure.
      for (const q of queries.slice(0, 10)) await m.search(q, config.RERANK_CANDIDATES);
      const timed = async () => {
        const lat: number[] = [];
        for (const q of queries) {
          const t = performance.now();
          // Timed as the ask path calls it: only the rerank pool is joined to its chunk and page rows.
          await m.search(q, config.RERANK_CANDIDATES);
          lat.push(performance.now() - t);
        }
        return lat;
      };
      const cpuBefore = await backendCpu(db);
      const lat = await timed();
      // CPU the database spent per search: on a loaded machine the wall-clock percentiles measure the
      // queue for a core as much as the search; this does not.
      const cpu = cpuSince(cpuBefore, await backendCpu(db));
      // The same questions again: the first pass read their postings from outside shared buffers (disk or
      // the OS cache); the second shows the search once what it reads is cached, as for a long-running server.
      const again = await timed();
      const cpuPerSearch = cpu === null ? "n/a (PostgreSQL on another machine)" : `${fmt((cpu * 1000) / queries.length, 1)} ms`;
      // Where the time goes: each half alone (the same statement with the other half empty).
      const half = async (which: "vector" | "text") => {
        const t: number[] = [];
        for (const q of queries) {
          const started = performance.now();
          await m.search(q, config.RERANK_CANDIDATES, which);
          t.push(performance.now() - started);
        }
        return `${which} alone p50 ${fmt(percentile(t, 50), 1)} / p95 ${fmt(percentile(t, 95), 1)} ms`;
      };
      m.line =
        `hybrid p50 ${fmt(percentile(lat, 50), 1)} ms, p95 ${fmt(percentile(lat, 95), 1)} ms ` +
        `(the same questions again: p50 ${fmt(percentile(again, 50), 1)}, p95 ${fmt(percentile(again, 95), 1)} ms)`;
      m.detail = `  PostgreSQL CPU per search ${cpuPerSearch}; ${await half("vector")}, ${await half("text")}`;
    }
    console.log(await cached(db));
    for (const m of modes) {
      // Recall of each stage, untimed: the vector stage's top ten against an exact scan, and the full-text
      // stage's against BM25 over every posting of every word (no word treated as common), with the same weights.
      // Many chunks tie on BM25 (the same words, the same length): a chunk scoring as high as the true 10th
      // counts as found, since which of the tied ones come first is arbitrary.
      let recall = 0;
      let textRecall = 0;
      const top10 = (rows: SearchRow[], rank: (r: SearchRow) => number | null) => rows.filter((r) => (rank(r) ?? 11) <= 10).map((r) => r.chunkId);
      for (const q of queries.slice(0, RECALL_Q)) {
        const rows = await m.search(q);
        const truth = await exact(q.vector, m.filtered ? collections[q.collection]! : null);
        recall += top10(rows, (r) => r.vectorRank).filter((id) => truth.has(id)).length / Math.max(1, truth.size);
        const text = await textQuery(db, q.text);
        const everyPosting = { ...text, terms: text.terms.map((t) => ({ ...t, common: false })) };
        const exhaustive = (await m.search(q, undefined, "text", everyPosting)).filter((r) => r.textRank !== null);
        const exactScore = new Map(exhaustive.map((r) => [r.chunkId, r.textScore!]));
        const tenth = exhaustive.find((r) => r.textRank === Math.min(10, exhaustive.length))?.textScore ?? 0;
        const found = top10(rows, (r) => r.textRank).filter((id) => (exactScore.get(id) ?? -Infinity) >= tenth * (1 - 1e-9));
        textRecall += found.length / Math.max(1, Math.min(10, exhaustive.length));
      }
      console.log(
        `${m.label}: ${m.line}, vector recall@10 ${fmt(recall / RECALL_Q)}, full-text recall@10 ${fmt(textRecall / RECALL_Q)} ` +
          `(perStage ${config.RETRIEVE_CANDIDATES}, ef_search ${config.RETRIEVE_EF_SEARCH}, ${graphLine}, ${queries.length} queries, recall over ${RECALL_Q})`,
      );
      console.log(m.detail);
    }
    console.log(`memory: this process peaked at ${mb(process.resourceUsage().maxRSS * 1024)} RSS`);
    console.log(`load average at end (1/5/15 min): ${loadAverage()}`);
    console.log(N > 500_000 ? "targets (1M chunks): p95 ≤ 100 ms, recall@10 ≥ 0.95" : "targets: p95 ≤ 50 ms, recall@10 ≥ 0.95");
  } finally {
    await drop();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
