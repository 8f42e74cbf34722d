// The synthetic corpus of the retrieval and ask benchmarks: clustered 768-d vectors (200 clusters) with
// Zipf-distributed made-up words, 25% of them topic words of the chunk's cluster, so text and vectors agree.
import type { Db } from "@/lib/db/client";

const DIM = 768;
const CLUSTERS = 200;
const WORDS_PER_CHUNK = 80;

// Deterministic PRNG (mulberry32) so every run loads the same corpus.
let seed = 42;
function rand(): number {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const gauss = () => Math.sqrt(-2 * Math.log(rand() || 1e-12)) * Math.cos(2 * Math.PI * rand());
const normalize = (v: number[]) => {
  const n = Math.sqrt(v.reduce((s, x) => s + x * x, 0)) || 1;
  return v.map((x) => x / n);
};

// A vocabulary of pronounceable made-up words (no English stop words, stable under stemming).
const SYL = "ba be bi bo bu da de di do du ka ke ki ko ku la le li lo lu ma me mi mo mu na ne ni no nu ra re ri ro ru sa se si so su ta te ti to tu va ve vi vo vu za ze zi zo zu".split(" ");
const VOCAB: string[] = [];
for (let i = 0; VOCAB.length < 30_000; i++) {
  const w = `${SYL[i % SYL.length]}${SYL[Math.floor(i / SYL.length) % SYL.length]}${SYL[Math.floor(i / SYL.length ** 2) % SYL.length]}x`;
  VOCAB.push(w);
}
// Zipf(1) sampling over the general vocabulary by inverse CDF on a precomputed table.
const H: number[] = [];
{
  let acc = 0;
  for (let r = 1; r <= 20_000; r++) H.push((acc += 1 / r));
}
const zipf = () => {
  const u = rand() * H[H.length - 1]!;
  let lo = 0;
  let hi = H.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (H[mid]! < u) lo = mid + 1;
    else hi = mid;
  }
  return VOCAB[lo]!;
};
// Each cluster owns 40 topic words from the rest of the vocabulary.
const topicWord = (cluster: number) => VOCAB[20_000 + ((cluster * 40 + Math.floor(rand() * 40)) % 10_000)]!;

const centroids = Array.from({ length: CLUSTERS }, () => normalize(Array.from({ length: DIM }, gauss)));
function chunkVector(cluster: number): number[] {
  const c = centroids[cluster]!;
  return normalize(c.map((x) => x + gauss() * 0.045));
}
function chunkText(cluster: number): string {
  const words: string[] = [];
  for (let i = 0; i < WORDS_PER_CHUNK; i++) words.push(rand() < 0.25 ? topicWord(cluster) : zipf());
  return words.join(" ");
}


export const COLLECTIONS = 10;
/**
 * The embedding-model label of the synthetic vectors. An app started on this corpus must be configured
 * with it (OLLAMA_EMBED_MODEL): with any other model it would see a model change and re-embed all
 * 100,000 chunks in the background while being measured.
 */
export const SYNTHETIC_EMBED_MODEL = "bench";

/**
 * Loads chunks (one document each, across 10 collections) until the database holds n, then builds the
 * HNSW index once (as a restore or a first import would, not row by row). Resumable: an interrupted load
 * kept with BENCH_KEEP=1 continues with BENCH_DB=<name>. Queries are then sampled from stored chunks:
 * five of a chunk's words and its vector plus a little noise.
 */
export async function loadSynthetic(db: Db, n: number, queryCount: number) {
  const t0 = performance.now();
  const collections: string[] = [];
  const sources: string[] = [];
  for (let c = 0; c < COLLECTIONS; c++) {
    const col = await db.prisma.collection.upsert({ where: { slug: `c${c}` }, create: { slug: `c${c}`, name: `c${c}` }, update: {} });
    collections.push(col.id);
    const src = (await db.prisma.source.findFirst({ where: { collectionId: col.id } })) ?? (await db.prisma.source.create({ data: { collectionId: col.id, kind: "upload", name: `c${c}` } }));
    sources.push(src.id);
  }
  const [{ have }] = await db.sql.query<{ have: number }>(`SELECT count(*)::int AS have FROM chunks`);
  if (have < n) await db.sql.exec(`DROP INDEX IF EXISTS chunks_embedding_hnsw_idx`);
  const BATCH = 1000;
  for (let i = have; i < n; i += BATCH) {
    const rows = Array.from({ length: Math.min(BATCH, n - i) }, (_, j) => {
      const cluster = Math.floor(rand() * CLUSTERS);
      const collection = (i + j) % COLLECTIONS;
      return { id: `d${i + j}`, collection, vector: chunkVector(cluster), text: chunkText(cluster) };
    });
    await db.sql.query(
      `WITH src AS (
         SELECT * FROM unnest($1::text[], $2::int[], $3::text[], $4::text[]) AS s(ext, col, text, emb)
       ), docs AS (
         INSERT INTO documents (collection_id, source_id, external_id, title, content_hash)
         SELECT ($5::uuid[])[col + 1], ($6::uuid[])[col + 1], ext, 'Page ' || ext, md5(text) FROM src
         RETURNING id, external_id, collection_id
       )
       INSERT INTO chunks (document_id, collection_id, position, text, token_count, content_hash, embedding, embedding_model)
       SELECT docs.id, docs.collection_id, 0, src.text, 120, md5(src.text), src.emb::vector, $7
       FROM src JOIN docs ON docs.external_id = src.ext`,
      [rows.map((r) => r.id), rows.map((r) => r.collection), rows.map((r) => r.text), rows.map((r) => `[${r.vector.map((x) => x.toFixed(6)).join(",")}]`), collections, sources, SYNTHETIC_EMBED_MODEL],
    );
    if ((i / BATCH) % 10 === 9) process.stdout.write(`  loaded ${i + BATCH}\r`);
  }
  const loadMs = performance.now() - t0;
  const t1 = performance.now();
  const [{ indexed }] = await db.sql.query<{ indexed: number }>(`SELECT count(*)::int AS indexed FROM pg_indexes WHERE indexname = 'chunks_embedding_hnsw_idx'`);
  if (!indexed) {
    await db.sql.exec(`SET maintenance_work_mem = '1GB'; CREATE INDEX chunks_embedding_hnsw_idx ON chunks USING hnsw (embedding vector_cosine_ops)`);
  }
  await db.sql.exec(`VACUUM ANALYZE`);
  const indexMs = performance.now() - t1;

  const sample = await db.sql.query<{ text: string; emb: string; collection_id: string }>(
    `SELECT text, embedding::text AS emb, collection_id FROM chunks ORDER BY md5(id::text) LIMIT $1`,
    [queryCount],
  );
  const queries = sample.map((r) => {
    const ws = r.text.split(" ");
    const text = Array.from({ length: 5 }, () => ws[Math.floor(rand() * ws.length)]!).join(" ");
    const vector = normalize((JSON.parse(r.emb) as number[]).map((x) => x + gauss() * 0.02));
    return { text, vector, collection: collections.indexOf(r.collection_id) };
  });
  return { collections, queries, loadMs, indexMs };
}
