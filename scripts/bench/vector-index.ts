// npm run bench:vector-index [-- --chunks 200000 --clusters 40 --queries 100] — what the vector half of
// retrieval can reach on bench:retrieval's corpus at a given density: the same clustered 768-d vectors
// (scripts/bench/synthetic.ts), by default 200,000 of them in 40 clusters, so that each cluster holds
// 5,000 chunks as at a million chunks in 200 clusters (the density at which bench:retrieval's recall@10
// falls to 0.63), for a fifth of the load and build time.
//
// It prints how far apart a question's neighbours are (the near-ties that make recall@10 hard), then for
// each index: its build time and size, and for each search setting recall@10 against an exact search,
// the share of returned neighbours within 1% of the true 10th neighbour's distance, and p50/p95 of one
// search on one connection (warm: the timed pass follows an untimed one). The indexes: HNSW as the product
// builds it (m 16, ef_construction 64), a denser HNSW (m 32, ef_construction 128), and IVFFlat with a list
// per thousand vectors. Plain `ORDER BY embedding <=> $1 LIMIT 10` over one table: the cost of the index
// alone, not of hybridSearch.
//
// Options (or environment): --chunks / BENCH_CHUNKS, --clusters / BENCH_CLUSTERS, --queries / BENCH_QUERIES,
// --indexes hnsw16,hnsw32,ivfflat (a comma-separated subset), BENCH_MAINTENANCE_WORK_MEM (default 2GB) and
// BENCH_PARALLEL_MAINTENANCE (default 2) for the index builds, as in bench:retrieval.
// Prints figures and the machine; asserts nothing.
import { parseArgs } from "node:util";
import pg from "pg";
import { from as copyFrom } from "pg-copy-streams";
import { loadAverage, machine, percentile, scratchDb, serverSettings } from "./lib";
import { BinaryRows, clusteredVectors, maintenance, questionVector, randomIndex } from "./synthetic";

const { values: args } = parseArgs({
  options: { chunks: { type: "string" }, clusters: { type: "string" }, queries: { type: "string" }, indexes: { type: "string" } },
});
const N = Number(args.chunks ?? process.env.BENCH_CHUNKS ?? 200_000);
const CLUSTERS = Number(args.clusters ?? process.env.BENCH_CLUSTERS ?? Math.max(1, Math.round(N / 5000)));
const Q = Number(args.queries ?? process.env.BENCH_QUERIES ?? 100);
const INDEXES = (args.indexes ?? "hnsw16,hnsw32,ivfflat").split(",").map((s) => s.trim());
if (!Number.isInteger(N) || N < 1000) throw new Error(`--chunks must be an integer ≥ 1000 (got ${args.chunks ?? process.env.BENCH_CHUNKS})`);
if (!Number.isInteger(CLUSTERS) || CLUSTERS < 1 || CLUSTERS > N) throw new Error(`--clusters must be an integer in 1..${N}`);
if (!Number.isInteger(Q) || Q < 10) throw new Error(`--queries must be an integer ≥ 10 (got ${args.queries ?? process.env.BENCH_QUERIES})`);

const LISTS = Math.max(10, Math.round(N / 1000));
/** Each index, how it is built, and the search settings tried on it (the first is its usual one). */
const CANDIDATES: Record<string, { build: string; settings: string[] }> = {
  hnsw16: { build: `USING hnsw (embedding vector_cosine_ops)`, settings: ["hnsw.ef_search = 100", "hnsw.ef_search = 40", "hnsw.ef_search = 200", "hnsw.ef_search = 400"] },
  hnsw32: { build: `USING hnsw (embedding vector_cosine_ops) WITH (m = 32, ef_construction = 128)`, settings: ["hnsw.ef_search = 100", "hnsw.ef_search = 200", "hnsw.ef_search = 400"] },
  ivfflat: { build: `USING ivfflat (embedding vector_cosine_ops) WITH (lists = ${LISTS})`, settings: ["ivfflat.probes = 3", "ivfflat.probes = 5", "ivfflat.probes = 10"] },
};
for (const name of INDEXES) if (!CANDIDATES[name]) throw new Error(`--indexes: unknown index "${name}" (known: ${Object.keys(CANDIDATES).join(", ")})`);

const literal = (v: number[]) => `[${v.join(",")}]`;
const ms = (t: number) => `${t.toFixed(1)} ms`;

const scratch = await scratchDb("vector_index", { poolSize: 2 });
const client = new pg.Client({ connectionString: scratch.url });
try {
  await client.connect();
  console.log(`bench:vector-index — ${N} vectors (768-d) in ${CLUSTERS} clusters (${Math.round(N / CLUSTERS)} a cluster), ${Q} questions`);
  console.log(`${machine()}; load before: ${loadAverage()}`);
  console.log(await serverSettings(scratch.db));

  // The corpus, by binary COPY into a table of its own.
  let t = performance.now();
  await client.query(`CREATE TABLE bench_vectors (id int PRIMARY KEY, embedding vector(768) NOT NULL)`);
  const vectorOf = clusteredVectors(CLUSTERS);
  const copy = client.query(copyFrom(`COPY bench_vectors (id, embedding) FROM STDIN (FORMAT binary)`));
  const finished = new Promise<void>((resolve, reject) => copy.once("finish", () => resolve()).once("error", reject));
  const rows = new BinaryRows();
  copy.write(BinaryRows.header);
  for (let i = 0; i < N; i++) {
    rows.row(2).int4(i).vector(vectorOf(randomIndex(CLUSTERS)));
    if (i % 2000 === 1999 || i === N - 1) {
      if (!copy.write(rows.take())) await new Promise<void>((r) => copy.once("drain", () => r()));
    }
  }
  copy.end(BinaryRows.trailer);
  await finished;
  await client.query(`VACUUM ANALYZE bench_vectors`);
  console.log(`loaded in ${((performance.now() - t) / 1000).toFixed(0)} s`);
  await client.query(maintenance()); // the index builds' memory and parallel workers, as bench:retrieval's

  // Questions: stored vectors plus a little noise (as bench:retrieval samples them); the truth by exact search.
  const ids = Array.from({ length: Q }, () => randomIndex(N));
  const stored = await client.query<{ id: number; e: string }>(`SELECT id, embedding::text AS e FROM bench_vectors WHERE id = ANY($1::int[])`, [ids]);
  const vectorById = new Map(stored.rows.map((r) => [r.id, JSON.parse(r.e) as number[]]));
  const questions = ids.map((id) => questionVector(vectorById.get(id)!));
  t = performance.now();
  const truth: Array<{ ids: Set<number>; tenth: number }> = [];
  const nth: number[][] = [[], [], [], [], []]; // distances of the 1st, 2nd, 10th, 30th and 100th neighbours
  for (const q of questions) {
    const r = await client.query<{ id: number; d: number }>(`SELECT id, embedding <=> $1 AS d FROM bench_vectors ORDER BY 2 LIMIT 100`, [literal(q)]);
    truth.push({ ids: new Set(r.rows.slice(0, 10).map((x) => x.id)), tenth: r.rows[9]!.d });
    [0, 1, 9, 29, 99].forEach((k, i) => nth[i]!.push(r.rows[k]!.d));
  }
  console.log(`exact searches: ${ms((performance.now() - t) / Q)} each`);
  const med = (xs: number[]) => percentile(xs, 50).toFixed(3);
  console.log(
    `cosine distance to a question's neighbours (medians): 1st ${med(nth[0]!)} (the chunk it was made from), 2nd ${med(nth[1]!)}, ` +
      `10th ${med(nth[2]!)}, 30th ${med(nth[3]!)}, 100th ${med(nth[4]!)}`,
  );

  for (const name of INDEXES) {
    const { build, settings } = CANDIDATES[name]!;
    t = performance.now();
    await client.query(`CREATE INDEX bench_vectors_idx ON bench_vectors ${build}`);
    const buildS = (performance.now() - t) / 1000;
    const [{ size }] = (await client.query<{ size: string }>(`SELECT pg_size_pretty(pg_relation_size('bench_vectors_idx')) AS size`)).rows;
    console.log(`${name}: ${build.replace("USING ", "")} — built in ${buildS.toFixed(0)} s, ${size}`);
    for (const setting of settings) {
      await client.query(`SET ${setting}`);
      // The planner may prefer reading every row to a wide index search: then the figures are an exact search's.
      const plan = (await client.query<{ "QUERY PLAN": string }>(`EXPLAIN SELECT id FROM bench_vectors ORDER BY embedding <=> $1 LIMIT 10`, [literal(questions[0]!)])).rows;
      const scan = plan.some((r) => r["QUERY PLAN"].includes("bench_vectors_idx")) ? "" : " (no index: the planner chose a full scan)";
      const times: number[] = [];
      let hits = 0;
      let nearHits = 0;
      for (let pass = 0; pass < 2; pass++) {
        for (let i = 0; i < Q; i++) {
          const start = performance.now();
          const r = await client.query<{ id: number; d: number }>(`SELECT id, embedding <=> $1 AS d FROM bench_vectors ORDER BY embedding <=> $1 LIMIT 10`, [literal(questions[i]!)]);
          if (pass === 0) continue;
          times.push(performance.now() - start);
          hits += r.rows.filter((x) => truth[i]!.ids.has(x.id)).length;
          nearHits += r.rows.filter((x) => x.d <= truth[i]!.tenth * 1.01).length;
        }
      }
      console.log(
        `   ${setting.padEnd(22)} recall@10 ${(hits / (10 * Q)).toFixed(3)}, within 1% of the 10th ${(nearHits / (10 * Q)).toFixed(3)}, ` +
          `p50 ${ms(percentile(times, 50))} p95 ${ms(percentile(times, 95))}${scan}`,
      );
    }
    await client.query(`DROP INDEX bench_vectors_idx`);
  }
  console.log(`load after: ${loadAverage()}`);
} finally {
  await client.end();
  await scratch.drop();
}
