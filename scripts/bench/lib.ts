// Shared helpers of the ask/retrieval benchmarks: machine description, a scratch database, bulk chunk
// loading and percentiles. Benchmarks print figures; they never assert timings.
import { readdirSync, readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import os from "node:os";
import pg from "pg";
import { openPostgres, type Db } from "@/lib/db/client";

export function machine(): string {
  const cpus = os.cpus();
  return `machine: ${cpus[0]?.model ?? "unknown CPU"} × ${cpus.length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB RAM, Node ${process.version}, ${os.platform()} ${os.release()}`;
}

/**
 * CPU time of every thread of a process, in ms with nanosecond resolution (Linux schedstat: the first field
 * of /proc/<pid>/task/<tid>/schedstat is the time the thread has run). Fine enough to time one request,
 * where /proc/<pid>/stat counts in 10 ms ticks.
 */
export function threadCpuMs(pid: number): number {
  let ns = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, "utf8").split(" ")[0]);
    } catch {
      // The thread ended between the listing and the read.
    }
  }
  return ns / 1e6;
}

/** The machine's load average (1/5/15 min): benchmark figures depend on what else it is doing. */
export const loadAverage = () => os.loadavg().map((l) => l.toFixed(1)).join(" / ");

/** The server's memory settings: they decide whether the hot index pages are read from PostgreSQL's own cache or the OS's. */
export async function serverSettings(db: Db): Promise<string> {
  const [r] = await db.sql.query<{ v: string; sb: string; ecs: string; mwm: string; pmw: string; pg: string }>(
    `SELECT current_setting('server_version') AS v, current_setting('shared_buffers') AS sb, current_setting('effective_cache_size') AS ecs,
            current_setting('maintenance_work_mem') AS mwm, current_setting('max_parallel_maintenance_workers') AS pmw,
            (SELECT extversion FROM pg_extension WHERE extname = 'vector') AS pg`,
  );
  return `server: PostgreSQL ${r!.v}, pgvector ${r!.pg}, shared_buffers ${r!.sb}, effective_cache_size ${r!.ecs}, maintenance_work_mem ${r!.mwm} (index builds here: ${process.env.BENCH_MAINTENANCE_WORK_MEM ?? "2GB"}), max_parallel_maintenance_workers ${r!.pmw}`;
}

export const BENCH_PG = process.env.BENCH_DATABASE_URL ?? process.env.TEST_DATABASE_URL ?? "postgresql://postgres@127.0.0.1:5432/postgres";

/** A fresh, migrated PostgreSQL database for one benchmark run, dropped by `drop()`. Its pool: 40 connections unless told. */
export async function scratchDb(name: string, opts: { poolSize?: number } = {}): Promise<{ db: Db; url: string; drop(): Promise<void> }> {
  const admin = new pg.Client({ connectionString: BENCH_PG });
  await admin.connect();
  // BENCH_DB=<name> reuses (and keeps) a database left by BENCH_KEEP=1, e.g. to resume a long load.
  const reuse = process.env.BENCH_DB;
  const dbName = reuse ?? `sot_bench_${name}_${process.pid}`;
  if (!reuse) {
    await admin.query(`DROP DATABASE IF EXISTS ${dbName}`);
    await admin.query(`CREATE DATABASE ${dbName}`);
  }
  const url = new URL(BENCH_PG);
  url.pathname = `/${dbName}`;
  const db = await openPostgres(url.toString(), { migrate: true, poolSize: opts.poolSize ?? 40 });
  return {
    db,
    url: url.toString(),
    async drop() {
      await db.close();
      // BENCH_KEEP=1 leaves the database for EXPLAIN and friends.
      if (process.env.BENCH_KEEP === "1" || reuse) {
        console.log(`kept database ${dbName}`);
        await admin.end();
        return;
      }
      await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
      await admin.end();
    },
  };
}

export interface BenchDoc {
  externalId: string;
  title: string;
  text: string;
  embedding: number[] | null;
}

/** Creates a collection + upload source and writes one document with one chunk per item, in batches. */
export async function loadChunks(db: Db, docs: BenchDoc[], opts: { collectionSlug?: string; batch?: number } = {}) {
  const slug = opts.collectionSlug ?? "bench";
  const collection = await db.prisma.collection.create({ data: { slug, name: slug } });
  const source = await db.prisma.source.create({ data: { collectionId: collection.id, kind: "upload", name: slug } });
  const batch = opts.batch ?? 500;
  for (let i = 0; i < docs.length; i += batch) {
    const part = docs.slice(i, i + batch);
    await db.prisma.$executeRaw`
      WITH src AS (
        SELECT * FROM unnest(${part.map((d) => d.externalId)}::text[], ${part.map((d) => d.title)}::text[],
                             ${part.map((d) => d.text)}::text[], ${part.map((d) => (d.embedding ? `[${d.embedding.join(",")}]` : null))}::text[])
          AS s(external_id, title, text, embedding)
      ), docs AS (
        INSERT INTO documents (collection_id, source_id, external_id, title, content_hash, url)
        SELECT ${collection.id}::uuid, ${source.id}::uuid, external_id, title, md5(text), 'https://wiki.example/' || external_id FROM src
        RETURNING id, external_id
      )
      INSERT INTO chunks (document_id, collection_id, position, heading_path, text, token_count, content_hash, embedding, embedding_model)
      SELECT docs.id, ${collection.id}::uuid, 0, ARRAY[src.title], src.text, length(src.text) / 4, md5(src.text),
             src.embedding::vector, CASE WHEN src.embedding IS NULL THEN NULL ELSE 'bench' END
      FROM src JOIN docs USING (external_id)`;
  }
  return { collectionId: collection.id, sourceId: source.id };
}

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}

export const fmt = (x: number, d = 3) => (Number.isFinite(x) ? x.toFixed(d) : "n/a");

export interface LoopFigures {
  p50: number;
  p95: number;
  perSecond: number;
}

/**
 * `callers` loops of `n` calls each, all at once, after a warm-up (pools, JIT, plans): per-call p50/p95
 * in ms and calls per second of wall clock.
 */
export async function concurrentLoops(callers: number, n: number, fn: (caller: number, i: number) => Promise<unknown>, warmup = 30): Promise<LoopFigures> {
  // The warm-up runs at the loop's own concurrency: a server in use already has the connections (to the
  // database, to KES) that this many callers at once need, and opening them is not what is timed.
  await Promise.all(
    Array.from({ length: callers }, async (_, c) => {
      for (let i = 0; i < warmup; i++) await fn(c, i);
    }),
  );
  const times: number[] = [];
  const start = performance.now();
  await Promise.all(
    Array.from({ length: callers }, async (_, c) => {
      for (let i = 0; i < n; i++) {
        const s = performance.now();
        await fn(c, i);
        times.push(performance.now() - s);
      }
    }),
  );
  const wall = (performance.now() - start) / 1000;
  return { p50: percentile(times, 50), p95: percentile(times, 95), perSecond: times.length / wall };
}

export const figuresLine = (label: string, r: LoopFigures, width = 44) =>
  `${label.padEnd(width)} p50 ${r.p50.toFixed(2).padStart(7)} ms   p95 ${r.p95.toFixed(2).padStart(7)} ms   ${r.perSecond.toFixed(0).padStart(6)} calls/s`;

/**
 * CPU seconds used so far by this database's backends (read from /proc, so only for a PostgreSQL on
 * this machine; null elsewhere), keyed by pid: on a shared machine, CPU per chunk is steadier than time.
 */
export async function backendCpu(db: Db): Promise<Map<number, number> | null> {
  return cpuOf(await backendStats(db));
}
export const cpuSince = (before: Map<number, number> | null, after: Map<number, number> | null) =>
  before && after ? [...after].reduce((sum, [pid, t]) => sum + t - (before.get(pid) ?? 0), 0) : null;

/**
 * Page accesses of this database so far (pg_stat_database): `hit` found in shared buffers, `read` fetched
 * from outside them (the OS cache or the disk) — each read also evicts a buffer, and writes it out first when
 * dirty. Backends report these when a transaction ends (at most once a second while busy), so a delta over a
 * level of many requests is close, not exact.
 */
export async function pageAccesses(db: Db): Promise<{ hit: number; read: number }> {
  return db.sql.transaction(async (tx) => {
    await tx.query(`SELECT pg_stat_clear_snapshot()`);
    const [r] = await tx.query<{ hit: string; read: string }>(
      `SELECT blks_hit::text AS hit, blks_read::text AS read FROM pg_stat_database WHERE datname = current_database()`,
    );
    return { hit: Number(r?.hit ?? 0), read: Number(r?.read ?? 0) };
  });
}

/**
 * What a hybrid search reads (the HNSW index, the postings' key, the chunk and page rows) against
 * shared_buffers: when they do not fit, every search fetches part of its pages from outside PostgreSQL's
 * cache, and that — not the statement — sets the database's CPU per question.
 */
export async function searchFootprint(db: Db): Promise<string> {
  const rows = await db.sql.query<{ name: string; bytes: string }>(
    `SELECT c.relname AS name, pg_relation_size(c.oid)::text AS bytes FROM pg_class c
      WHERE c.relnamespace = current_schema()::regnamespace
        AND c.relname IN ('chunks_embedding_hnsw_idx', 'chunk_terms_pkey', 'chunks', 'documents')
      ORDER BY pg_relation_size(c.oid) DESC`,
  );
  const [{ sb, sbBytes }] = await db.sql.query<{ sb: string; sbBytes: string }>(
    `SELECT current_setting('shared_buffers') AS sb, (setting::bigint * current_setting('block_size')::bigint)::text AS "sbBytes"
       FROM pg_settings WHERE name = 'shared_buffers'`,
  );
  const total = rows.reduce((s, r) => s + Number(r.bytes), 0);
  const mb = (b: number) => `${Math.round(b / 2 ** 20)} MB`;
  return (
    `what a search reads: ${rows.map((r) => `${r.name} ${mb(Number(r.bytes))}`).join(", ")} — ${mb(total)} against shared_buffers ${sb}` +
    (total > Number(sbBytes) ? " (does not fit: searches fetch pages from outside PostgreSQL's cache; see docs/benchmarks.md, Ask overhead)" : "")
  );
}

/** CPU seconds (user + system) a process has used so far, from /proc; null where there is none. */
export async function processCpu(pid: number): Promise<number | null> {
  return (await processStat(pid))?.cpu ?? null;
}

/** A process's CPU seconds (user + system) and page faults so far, from /proc/<pid>/stat; null where there is none. */
export async function processStat(pid: number): Promise<{ cpu: number; minflt: number; majflt: number } | null> {
  const stat = await readFile(`/proc/${pid}/stat`, "utf8").catch(() => null);
  if (!stat) return null;
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" "); // f[0] is field 3 (state)
  return { cpu: (Number(f[11]) + Number(f[12])) / 100, minflt: Number(f[7]), majflt: Number(f[9]) }; // CPU in clock ticks (100 Hz)
}

export interface BackendFaults {
  /** Backends of this database that used CPU or faulted between the two readings, and how many of them are new. */
  active: number;
  opened: number;
  minflt: number;
  majflt: number;
}

type ProcessStat = NonNullable<Awaited<ReturnType<typeof processStat>>>;

/**
 * CPU seconds and page faults of this database's backends, keyed by pid (Linux /proc; null elsewhere).
 * PostgreSQL's shared buffers are one shared mapping: each backend faults in every page of it the first time it
 * touches it (4 kB pages unless the server runs on huge pages), so a fresh backend pays again for pages that
 * every other backend already has — on a virtual machine whose page faults are expensive, a large share of a
 * search's CPU.
 */
export async function backendStats(db: Db): Promise<Map<number, ProcessStat> | null> {
  try {
    const rows = await db.sql.query<{ pid: number }>(`SELECT pid FROM pg_stat_activity WHERE datname = current_database()`);
    const out = new Map<number, ProcessStat>();
    for (const { pid } of rows) {
      const st = await processStat(pid);
      if (st) out.set(pid, st);
    }
    return out.size ? out : null;
  } catch {
    return null;
  }
}
/** CPU seconds per backend, out of a backendStats reading. */
export const cpuOf = (stats: Map<number, ProcessStat> | null) => stats && new Map([...stats].map(([pid, st]) => [pid, st.cpu]));
export function faultsSince(before: Map<number, ProcessStat> | null, after: Map<number, ProcessStat> | null): BackendFaults | null {
  if (!before || !after) return null;
  const out: BackendFaults = { active: 0, opened: 0, minflt: 0, majflt: 0 };
  for (const [pid, a] of after) {
    const b = before.get(pid) ?? { cpu: 0, minflt: 0, majflt: 0 };
    if (!before.has(pid)) out.opened++;
    if (a.cpu > b.cpu || a.minflt > b.minflt) out.active++;
    out.minflt += a.minflt - b.minflt;
    out.majflt += a.majflt - b.majflt;
  }
  return out;
}

