// The synthetic corpus of the retrieval and ask benchmarks: clustered 768-d vectors (200 clusters) with
// Zipf-distributed made-up words, 25% of them topic words of the chunk's cluster, so text and vectors agree.
import { createHash } from "node:crypto";
import pg from "pg";
import { from as copyFrom } from "pg-copy-streams";
import type { Db } from "@/lib/db/client";
import { VECTOR_INDEX, vectorIndexStatement } from "@/lib/ingest/queries";
import { configuredVectorIndex } from "@/lib/ingest/vector-index";

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

/**
 * The corpus's vectors: `clusters` random unit centroids, each chunk its centroid plus Gaussian spread
 * (0.045 a dimension, so about 1.25 in all: a chunk shares only its cluster's direction with the others).
 * Returns a chunk's vector for a cluster; deterministic for the same calls in the same order.
 */
export function clusteredVectors(clusters: number): (cluster: number) => number[] {
  const centroids = Array.from({ length: clusters }, () => normalize(Array.from({ length: DIM }, gauss)));
  return (cluster) => normalize(centroids[cluster]!.map((x) => x + gauss() * 0.045));
}
/** A question's vector: a stored chunk's plus a little noise. */
export const questionVector = (chunk: number[]) => normalize(chunk.map((x) => x + gauss() * 0.02));
/** A whole number in [0, n) from the corpus's deterministic sequence. */
export const randomIndex = (n: number) => Math.floor(rand() * n);
const chunkVector = clusteredVectors(CLUSTERS);
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

/** Where a load's time went, phase by phase (ms). */
export interface LoadTimings {
  /** Generating the corpus and COPYing documents and chunks (with their generated tsvectors). */
  copyMs: number;
  /** Writing the BM25 postings and lengths of the new chunks in bulk. */
  postingsMs: number;
  /** Each index (re)built after the load, by name. */
  indexMs: Record<string, number>;
  vacuumMs: number;
}

/**
 * Loads chunks (one document each, across 10 collections) until the database holds n, the way a restore
 * would rather than row by row: the secondary indexes of chunks and the postings' primary key are dropped,
 * rows arrive by binary COPY with the per-statement postings trigger off (session_replication_role, so the
 * bench needs a superuser), the postings are written in one bulk statement per writer, and the indexes
 * are then built with maintenance_work_mem and parallel workers (`BENCH_MAINTENANCE_WORK_MEM`, default
 * 2GB). Resumable: an interrupted load kept with BENCH_KEEP=1 continues with BENCH_DB=<name>. Queries are
 * then sampled from stored chunks: five of a chunk's words and its vector plus a little noise.
 */
export async function loadSynthetic(db: Db, n: number, queryCount: number) {
  const collections: string[] = [];
  const sources: string[] = [];
  for (let c = 0; c < COLLECTIONS; c++) {
    const col = await db.prisma.collection.upsert({ where: { slug: `c${c}` }, create: { slug: `c${c}`, name: `c${c}` }, update: {} });
    collections.push(col.id);
    const src = (await db.prisma.source.findFirst({ where: { collectionId: col.id } })) ?? (await db.prisma.source.create({ data: { collectionId: col.id, kind: "upload", name: `c${c}` } }));
    sources.push(src.id);
  }
  const timings: LoadTimings = { copyMs: 0, postingsMs: 0, indexMs: {}, vacuumMs: 0 };
  const [{ have }] = await db.sql.query<{ have: number }>(`SELECT count(*)::int AS have FROM chunks`);
  if (have < n) {
    if (!db.url) throw new Error("loadSynthetic: the bulk load needs PostgreSQL (COPY)");
    await dropLoadIndexes(db);
    let t = performance.now();
    await copyCorpus(db.url, have, n, collections, sources);
    timings.copyMs = performance.now() - t;
    t = performance.now();
    await writePostings(db, collections);
    timings.postingsMs = performance.now() - t;
  }
  timings.indexMs = await rebuildLoadIndexes(db);
  const t = performance.now();
  await db.sql.exec(`VACUUM ANALYZE`);
  timings.vacuumMs = performance.now() - t;
  const loadMs = timings.copyMs + timings.postingsMs;
  const indexMs = Object.values(timings.indexMs).reduce((a, b) => a + b, 0) + timings.vacuumMs;

  // The sample's ids first, then their rows: the sort then carries ids, not a million vectors as text.
  const sample = await db.sql.query<{ text: string; emb: string; collection_id: string }>(
    `WITH s AS (SELECT id, md5(id::text) AS k FROM chunks ORDER BY k LIMIT $1)
     SELECT c.text, c.embedding::text AS emb, c.collection_id FROM s JOIN chunks c USING (id) ORDER BY s.k`,
    [queryCount],
  );
  const queries = sample.map((r) => {
    const ws = r.text.split(" ");
    const text = Array.from({ length: 5 }, () => ws[Math.floor(rand() * ws.length)]!).join(" ");
    const vector = questionVector(JSON.parse(r.emb) as number[]);
    return { text, vector, collection: collections.indexOf(r.collection_id) };
  });
  return { collections, queries, loadMs, indexMs, timings };
}

/** The settings of the index builds after a bulk load: memory for the HNSW graph and parallel workers. */
export const maintenance = () =>
  `SET maintenance_work_mem = '${(process.env.BENCH_MAINTENANCE_WORK_MEM ?? "2GB").replace(/[^0-9A-Za-z]/g, "")}'; ` +
  `SET max_parallel_maintenance_workers = ${Number(process.env.BENCH_PARALLEL_MAINTENANCE ?? 2) | 0}`;

/**
 * Drops what a bulk load would otherwise maintain row by row: chunks' secondary indexes (HNSW, GIN and
 * the b-trees) and chunk_terms' primary key. Their definitions are kept in a table of the scratch
 * database, so an interrupted load (BENCH_KEEP=1) still rebuilds them when resumed.
 */
async function dropLoadIndexes(db: Db) {
  await db.sql.exec(`CREATE TABLE IF NOT EXISTS bench_dropped_indexes (name text PRIMARY KEY, def text NOT NULL, ord int NOT NULL)`);
  await db.sql.exec(`
    INSERT INTO bench_dropped_indexes (name, def, ord)
    SELECT indexname, indexdef, 1 FROM pg_indexes
     WHERE schemaname = current_schema() AND tablename = 'chunks' AND indexname <> 'chunks_pkey'
    UNION ALL
    SELECT conname, 'ALTER TABLE chunk_terms ADD CONSTRAINT ' || quote_ident(conname) || ' ' || pg_get_constraintdef(oid), 0
      FROM pg_constraint WHERE conrelid = 'chunk_terms'::regclass AND contype = 'p'
    ON CONFLICT (name) DO NOTHING`);
  for (const { name, ord } of await db.sql.query<{ name: string; ord: number }>(`SELECT name, ord FROM bench_dropped_indexes`)) {
    await db.sql.exec(ord === 0 ? `ALTER TABLE chunk_terms DROP CONSTRAINT IF EXISTS ${name}` : `DROP INDEX IF EXISTS ${name}`);
  }
}

/**
 * Builds the dropped indexes again (primary key first), each timed. The HNSW index gets the graph every
 * build of the product uses (VECTOR_INDEX_M / VECTOR_INDEX_EF_CONSTRUCTION), not the migration's defaults.
 */
async function rebuildLoadIndexes(db: Db): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  const [{ exists }] = await db.sql.query<{ exists: boolean }>(`SELECT to_regclass('bench_dropped_indexes') IS NOT NULL AS exists`);
  if (!exists) return out;
  const defs = await db.sql.query<{ name: string; def: string }>(`SELECT name, def FROM bench_dropped_indexes ORDER BY ord, name`);
  for (const { name, def } of defs) {
    const t = performance.now();
    // One transaction: SET LOCAL-like scope for the settings without touching other pooled connections.
    await db.sql.transaction(async (tx) => {
      await tx.exec(maintenance().replaceAll("SET ", "SET LOCAL "));
      await tx.exec(name === VECTOR_INDEX ? vectorIndexStatement(configuredVectorIndex(), { concurrently: false }) : def);
    });
    out[name] = performance.now() - t;
    await db.sql.query(`DELETE FROM bench_dropped_indexes WHERE name = $1`, [name]);
  }
  await db.sql.exec(`DROP TABLE bench_dropped_indexes`);
  return out;
}

/** A UUID derived from a name: the same corpus gets the same ids (and the same query sample) every run. */
const uuidOf = (name: string) => {
  const h = createHash("md5").update(name).digest("hex");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
};

/** PostgreSQL's binary COPY format: a header, rows of length-prefixed fields, a trailer. */
export class BinaryRows {
  private parts: Buffer[] = [];
  static header = Buffer.concat([Buffer.from("PGCOPY\n\xff\r\n\0", "latin1"), Buffer.alloc(8)]);
  static trailer = Buffer.from([0xff, 0xff]);
  row(fields: number) {
    const b = Buffer.alloc(2);
    b.writeInt16BE(fields);
    this.parts.push(b);
    return this;
  }
  private field(payload: Buffer) {
    const len = Buffer.alloc(4);
    len.writeInt32BE(payload.length);
    this.parts.push(len, payload);
    return this;
  }
  uuid(u: string) {
    return this.field(Buffer.from(u.replaceAll("-", ""), "hex"));
  }
  text(s: string) {
    return this.field(Buffer.from(s, "utf8"));
  }
  int4(x: number) {
    const b = Buffer.alloc(4);
    b.writeInt32BE(x);
    return this.field(b);
  }
  /** pgvector's binary form: dimensions (int16), an unused int16, then float4s. */
  vector(v: number[]) {
    const b = Buffer.alloc(4 + 4 * v.length);
    b.writeInt16BE(v.length, 0);
    for (let i = 0; i < v.length; i++) b.writeFloatBE(v[i]!, 4 + 4 * i);
    return this.field(b);
  }
  take(): Buffer {
    const out = Buffer.concat(this.parts);
    this.parts = [];
    return out;
  }
}

/**
 * Generates chunks [from, to) and COPYs their documents and chunks in binary over one connection each
 * (documents first: chunks reference them). The postings trigger is off for the chunks' COPY; the
 * postings are written in bulk afterwards (writePostings).
 */
async function copyCorpus(url: string, from: number, to: number, collections: string[], sources: string[]) {
  const rows = function* () {
    for (let i = from; i < to; i++) {
      const cluster = Math.floor(rand() * CLUSTERS);
      const collection = i % COLLECTIONS;
      const text = chunkText(cluster);
      yield { i, collection, text, vector: chunkVector(cluster) };
    }
  };
  const BATCH = 2000;
  const docs = new pg.Client({ connectionString: url });
  const chunks = new pg.Client({ connectionString: url });
  await Promise.all([docs.connect(), chunks.connect()]);
  try {
    await chunks.query(`SET session_replication_role = replica`).catch((err: Error) => {
      throw new Error(`the bulk load turns the postings trigger off with session_replication_role, which needs a superuser: ${err.message}`);
    });
    const docStream = docs.query(copyFrom(`COPY documents (id, collection_id, source_id, external_id, title, content_hash) FROM STDIN (FORMAT binary)`));
    const chunkStream = chunks.query(
      copyFrom(`COPY chunks (id, document_id, collection_id, position, text, token_count, content_hash, embedding, embedding_model) FROM STDIN (FORMAT binary)`),
    );
    const write = (s: NodeJS.WritableStream, b: Buffer) => (s.write(b) ? Promise.resolve() : new Promise<void>((r) => s.once("drain", () => r())));
    const done = (s: NodeJS.WritableStream) => new Promise<void>((resolve, reject) => {
      s.once("finish", () => resolve());
      s.once("error", reject);
    });
    const finished = Promise.all([done(docStream), done(chunkStream)]);
    finished.catch(() => undefined);
    await Promise.all([write(docStream, BinaryRows.header), write(chunkStream, BinaryRows.header)]);
    const d = new BinaryRows();
    const c = new BinaryRows();
    let k = 0;
    for (const r of rows()) {
      const docId = uuidOf(`doc-${r.i}`);
      const hash = createHash("md5").update(r.text).digest("hex");
      d.row(6).uuid(docId).uuid(collections[r.collection]!).uuid(sources[r.collection]!).text(`d${r.i}`).text(`Page d${r.i}`).text(hash);
      c.row(9).uuid(uuidOf(`chunk-${r.i}`)).uuid(docId).uuid(collections[r.collection]!).int4(0).text(r.text).int4(120).text(hash).vector(r.vector).text(SYNTHETIC_EMBED_MODEL);
      if (++k % BATCH === 0) {
        await Promise.all([write(docStream, d.take()), write(chunkStream, c.take())]);
        if (k % 20_000 === 0) process.stdout.write(`  loaded ${from + k}\r`);
      }
    }
    docStream.end(Buffer.concat([d.take(), BinaryRows.trailer]));
    chunkStream.end(Buffer.concat([c.take(), BinaryRows.trailer]));
    await finished;
  } finally {
    await Promise.all([docs.end(), chunks.end()]);
  }
}

/**
 * BM25 postings and lengths of every chunk that has none yet, as the insert trigger would write them
 * (the same lexemes, tf and dl), in one statement per writer: two writers, each a share of the
 * collections, keep both cores busy.
 */
async function writePostings(db: Db, collections: string[]) {
  await db.sql.query(
    `INSERT INTO chunk_lengths (chunk_id, collection_id, dl)
     SELECT c.id, c.collection_id, coalesce((SELECT sum(sot_bm25_tf(u.weights::text[])) FROM unnest(c.tsv) u), 0)::real
     FROM chunks c WHERE c.tsv IS NOT NULL AND NOT EXISTS (SELECT 1 FROM chunk_lengths l WHERE l.chunk_id = c.id)`,
  );
  const shares = [collections.filter((_, i) => i % 2 === 0), collections.filter((_, i) => i % 2 === 1)];
  await Promise.all(
    shares.map((ids) =>
      db.sql.query(
        `INSERT INTO chunk_terms (lexeme, chunk_id, collection_id, tf, dl)
         SELECT u.lexeme, c.id, c.collection_id, sot_bm25_tf(u.weights::text[]), l.dl
         FROM chunks c JOIN chunk_lengths l ON l.chunk_id = c.id, unnest(c.tsv) u
         WHERE c.collection_id = ANY($1::uuid[]) AND c.tsv IS NOT NULL
           AND NOT EXISTS (SELECT 1 FROM chunk_terms t WHERE t.chunk_id = c.id)`,
        [ids],
      ),
    ),
  );
}
