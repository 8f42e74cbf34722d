// npm run bench:retrieval — hybrid retrieval (HNSW + BM25 fused with RRF, one SQL statement) over
// 100,000 chunks of synthetic but clustered 768-d vectors with Zipf-distributed text whose topic words
// follow the vector clusters. Prints p50/p95 of hybridSearch (the question's embedding excluded), vector
// recall@10 against exact search, the same with a collection filter (iterative scan), and the load time.
//
// Environment: BENCH_CHUNKS (default 100000), BENCH_QUERIES (default 200), BENCH_DATABASE_URL.
import { getConfig } from "@/lib/config";
import { hybridSearch } from "@/lib/retrieve/search";
import { fmt, machine, percentile, scratchDb, serverSettings } from "./lib";
import { loadSynthetic } from "./synthetic";

const N = Number(process.env.BENCH_CHUNKS ?? 100_000);
const Q = Number(process.env.BENCH_QUERIES ?? 200);

async function main() {
  console.log(`bench:retrieval — ${N} chunks, 200 clusters, 10 collections, ${Q} queries`);
  console.log(machine());
  const config = getConfig();
  const { db, drop } = await scratchDb("retrieval");
  try {
    const { collections, queries, loadMs: tLoad, indexMs: tIndex } = await loadSynthetic(db, N, Q);
    const [{ postings }] = await db.sql.query<{ postings: number }>(`SELECT count(*)::int AS postings FROM chunk_terms`);
    console.log(await serverSettings(db));
    console.log(`load: ${N} chunks + ${postings} BM25 postings in ${(tLoad / 1000).toFixed(0)} s (triggers), HNSW build + VACUUM ANALYZE ${(tIndex / 1000).toFixed(0)} s`);

    const exact = async (v: number[], filter: string | null) => {
      const rows = await db.prisma.$transaction([
        db.prisma.$executeRawUnsafe(`SET LOCAL enable_indexscan = off`),
        db.prisma.$queryRawUnsafe<Array<{ id: string }>>(
          `SELECT id::text FROM chunks WHERE ($2::uuid IS NULL OR collection_id = $2::uuid) ORDER BY embedding <=> $1::vector LIMIT 10`,
          `[${v.join(",")}]`,
          filter,
        ),
      ]);
      return new Set(rows[1].map((r) => r.id));
    };

    for (const filtered of [false, true]) {
      // Warm-up, then measure.
      for (const q of queries.slice(0, 10)) {
        await hybridSearch(db, { query: q.text, embedding: q.vector, collectionIds: filtered ? [collections[q.collection]!] : null, perStage: config.RETRIEVE_CANDIDATES, efSearch: config.RETRIEVE_EF_SEARCH, limit: config.RERANK_CANDIDATES });
      }
      const lat: number[] = [];
      let recall = 0;
      for (const q of queries) {
        const ids = filtered ? [collections[q.collection]!] : null;
        const s = performance.now();
        // Timed as the ask path calls it: only the rerank pool is joined to its chunk and page rows.
        await hybridSearch(db, { query: q.text, embedding: q.vector, collectionIds: ids, perStage: config.RETRIEVE_CANDIDATES, efSearch: config.RETRIEVE_EF_SEARCH, limit: config.RERANK_CANDIDATES });
        lat.push(performance.now() - s);
        // Recall is the vector stage's: every fused row, untimed.
        const rows = await hybridSearch(db, { query: q.text, embedding: q.vector, collectionIds: ids, perStage: config.RETRIEVE_CANDIDATES, efSearch: config.RETRIEVE_EF_SEARCH });
        const hnswTop = rows.filter((r) => r.vectorRank !== null && r.vectorRank <= 10).map((r) => r.chunkId);
        const truth = await exact(q.vector, ids?.[0] ?? null);
        recall += hnswTop.filter((id) => truth.has(id)).length / Math.max(1, truth.size);
      }
      console.log(
        `${filtered ? "one collection (10%, iterative scan)" : "all collections"}: hybrid p50 ${fmt(percentile(lat, 50), 1)} ms, p95 ${fmt(percentile(lat, 95), 1)} ms, ` +
          `vector recall@10 ${fmt(recall / queries.length)} (perStage ${config.RETRIEVE_CANDIDATES}, ef_search ${config.RETRIEVE_EF_SEARCH}, ${queries.length} queries)`,
      );
    }
    console.log("targets: p95 ≤ 50 ms, recall@10 ≥ 0.95");
  } finally {
    await drop();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
