// `npm run bench:backup`: SOT's encrypted backups beside what an operator would otherwise run, on the
// same PostgreSQL database in the same run: `pg_dump -Fc` and `pg_restore` against SOT's first backup
// and its verified restore (100,000 chunks of 768-d vectors by default, the full schema with its BM25
// postings maintained by triggers and its HNSW index, to the local folder target). Then an incremental
// backup after changing 1% of the documents: rows read (counted) against the first backup's.
// Prints the figures, the ratios and the machine; nothing here asserts a timing.
// BENCH_CHUNKS / BENCH_DATABASE_URL override the defaults.
import { execFileSync, spawn } from "node:child_process";
import { mkdtemp, rm, stat } from "node:fs/promises";
import os, { tmpdir } from "node:os";
import path from "node:path";
import pg from "pg";
import { createSnapshot, FolderTarget, restoreSnapshot, verifySnapshot } from "@/lib/backup";
import { generateMasterKey, ringFrom } from "@/lib/crypto/keys";
import { inProcessTransport, KesClient } from "@/lib/kes/client";
import { serviceTable } from "@/lib/kes/protocol";
import { BENCH_PG, loadAverage, machine, scratchDb } from "./lib";

const CHUNKS = Number(process.env.BENCH_CHUNKS ?? 100_000);
const PER_DOC = 10;
const DOCS = Math.ceil(CHUNKS / PER_DOC);
/** The restore's own setting (lib/backup/queries.ts), given to pg_restore too so index builds compare like with like. */
const MAINTENANCE_WORK_MEM = "256MB";
const MB = (n: number) => `${(n / 2 ** 20).toFixed(1)} MiB`;
const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const ratio = (a: number, b: number) => `${(a / b).toFixed(2)}×`;

/** Runs a client tool, timing it; its stderr is shown only when it fails. */
function run(cmd: string, args: string[], env: Record<string, string> = {}): Promise<number> {
  const t = Date.now();
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ["ignore", "ignore", "pipe"] });
    let err = "";
    p.stderr.on("data", (d) => (err += d));
    p.on("error", reject);
    p.on("exit", (code) => (code === 0 ? resolve(Date.now() - t) : reject(new Error(`${cmd} exited with ${code}: ${err.slice(0, 2000)}`))));
  });
}

/** Peak resident memory of this process while `fn` runs (sampled every 200 ms). */
async function peakRss<T>(fn: () => Promise<T>): Promise<{ result: T; peak: number }> {
  let peak = process.memoryUsage().rss;
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 200);
  try {
    const result = await fn();
    return { result, peak: Math.max(peak, process.memoryUsage().rss) };
  } finally {
    clearInterval(timer);
  }
}

const uptime = () => execFileSync("uptime").toString().trim();
console.log(machine());
console.log(`uptime at start: ${uptime()}`);
console.log(`PostgreSQL ${BENCH_PG.replace(/\/\/[^@/]*@/, "//***@")}: ${CHUNKS.toLocaleString()} chunks in ${DOCS.toLocaleString()} documents, 768-d vectors`);

const scratch = await scratchDb("backup");
const dir = await mkdtemp(path.join(tmpdir(), "sot-bench-backup-"));
const dumpFile = path.join(dir, "pg_dump.fc");
const admin = new pg.Client({ connectionString: BENCH_PG });
await admin.connect();
const fresh = async (label: string) => {
  const name = `sot_bench_backup_${label}_${process.pid}`;
  await admin.query(`DROP DATABASE IF EXISTS ${name}`);
  await admin.query(`CREATE DATABASE ${name}`);
  const url = new URL(BENCH_PG);
  url.pathname = `/${name}`;
  return { name, url: url.toString() };
};
const restores: string[] = [];
try {
  const { db } = scratch;
  let t = Date.now();
  // Loaded without the ANN index (per-row HNSW inserts would dominate the set-up), which is then built
  // once, so the database has every index production has and both restores rebuild the same ones.
  const [hnsw] = await db.sql.query<{ def: string }>(`SELECT indexdef AS def FROM pg_indexes WHERE indexname = 'chunks_embedding_hnsw_idx'`);
  await db.sql.exec(`DROP INDEX IF EXISTS chunks_embedding_hnsw_idx`);
  const [{ c, s }] = await db.sql.query<{ c: string; s: string }>(
    `WITH c AS (INSERT INTO collections (slug, name) VALUES ('bench', 'Bench') RETURNING id),
          s AS (INSERT INTO sources (collection_id, kind, name) SELECT id, 'upload', 'bench' FROM c RETURNING id, collection_id)
     SELECT collection_id::text AS c, id::text AS s FROM s`,
  );
  for (let d = 0; d < DOCS; d += 1000) {
    const n = Math.min(1000, DOCS - d);
    // Word lists and vectors are correlated with the row (the WHERE) so PostgreSQL draws new ones per row.
    await db.sql.query(
      `WITH docs AS (
         INSERT INTO documents (collection_id, source_id, external_id, title, content_hash, url)
         SELECT $1::uuid, $2::uuid, 'doc-' || g, 'Document ' || g, md5(g::text), 'https://wiki.example/doc-' || g
         FROM generate_series($3::int, $3::int + $4::int - 1) g RETURNING id, title)
       INSERT INTO chunks (document_id, collection_id, position, heading_path, text, token_count, content_hash, embedding, embedding_model)
       SELECT docs.id, $1::uuid, p, ARRAY[docs.title],
              (SELECT string_agg(left(md5(floor(random() * 3000)::text), 3 + (i % 6)), ' ') FROM generate_series(1, 60) i WHERE docs.id IS NOT NULL AND p >= 0),
              80, md5(docs.id::text || p), (SELECT array_agg(random()::real - 0.5) FROM generate_series(1, 768) WHERE docs.id IS NOT NULL AND p >= 0)::vector, 'bench'
       FROM docs, generate_series(0, ${PER_DOC - 1}) p`,
      [c, s, d, n],
    );
  }
  console.log(`seeded rows in ${secs(Date.now() - t)}`);
  t = Date.now();
  await db.sql.transaction(async (tx) => {
    await tx.exec(`SET LOCAL maintenance_work_mem = '${MAINTENANCE_WORK_MEM}'`);
    await tx.exec(hnsw.def);
  });
  await db.sql.exec("VACUUM ANALYZE");
  const counts = async () =>
    (await db.sql.query<{ t: string; n: string }>(`SELECT 'chunks' AS t, count(*)::text AS n FROM chunks UNION ALL SELECT 'chunk_terms', count(*)::text FROM chunk_terms`))
      .map((r) => `${r.t} ${Number(r.n).toLocaleString()}`)
      .join(", ");
  const [size] = await db.sql.query<{ s: string }>(`SELECT pg_size_pretty(pg_database_size(current_database())) AS s`);
  console.log(`HNSW index built in ${secs(Date.now() - t)}; ${await counts()}; database ${size.s}`);

  const ring = ringFrom([generateMasterKey()], { kind: "env" });
  console.log(`this process's resident memory before backing up: ${MB(process.memoryUsage().rss)}`);
  const token = "bench-kes-token-0123456789abcdef";
  const kes = new KesClient(inProcessTransport({ db, ring, services: serviceTable(null, [["sot", token]]) }, token));
  const target = new FolderTarget(path.join(dir, "sot"));
  const du = () => Number(execFileSync("du", ["-sb", path.join(dir, "sot")]).toString().split("\t")[0]);

  // ── first backup: pg_dump -Fc, then SOT (the same database, nothing written in between) ──
  console.log(`\nload before pg_dump: ${loadAverage()}`);
  const dumpMs = await run("pg_dump", ["-Fc", "-f", dumpFile, scratch.url]);
  const dumpBytes = (await stat(dumpFile)).size;
  console.log(`pg_dump -Fc: ${secs(dumpMs)}, ${MB(dumpBytes)}`);

  console.log(`load before SOT backup: ${loadAverage()}`);
  t = Date.now();
  const { result: first, peak: firstRss } = await peakRss(() => createSnapshot({ db, target, ring, kes }));
  const firstMs = Date.now() - t;
  console.log(
    `SOT first backup (encrypted, keyed names): ${secs(firstMs)}; ${first.rowsRead.toLocaleString()} rows in ${first.objectsTotal.toLocaleString()} objects, ${MB(first.bytesUploaded)} (folder ${MB(du())}); peak RSS ${MB(firstRss)}`,
  );
  console.log(`  ratio first backup / pg_dump: ${ratio(firstMs, dumpMs)} (target ≤ 2×)`);

  // ── incremental: change 1% of the documents (title and every chunk's text; postings follow by trigger) ──
  const changed = Math.max(1, Math.round(DOCS / 100));
  await db.sql.query(
    `WITH d AS (SELECT id FROM documents ORDER BY external_id LIMIT $1)
     UPDATE documents SET title = title || ' (revised)', content_hash = md5(content_hash) WHERE id IN (SELECT id FROM d)`,
    [changed],
  );
  await db.sql.query(`UPDATE chunks SET text = text || ' revised paragraph' WHERE document_id IN (SELECT id FROM documents WHERE title LIKE '%(revised)')`);
  t = Date.now();
  const second = await createSnapshot({ db, target, ring, kes, now: new Date(Date.now() + 1000) });
  const secondMs = Date.now() - t;
  const pct = (a: number, b: number) => `${((100 * a) / b).toFixed(2)}%`;
  console.log(
    `\nSOT incremental after changing ${changed} of ${DOCS} documents (1%): ${secs(secondMs)}; read ${second.rowsRead.toLocaleString()} of ${first.rowsRead.toLocaleString()} rows (${pct(second.rowsRead, first.rowsRead)}); uploaded ${second.objectsUploaded} objects, ${MB(second.bytesUploaded)} (${pct(second.bytesUploaded, first.bytesUploaded)} of the first)`,
  );
  for (const tb of second.tables.filter((x) => x.read > 0)) console.log(`  ${tb.name}: ${tb.read.toLocaleString()} rows read`);

  t = Date.now();
  const v = await verifySnapshot({ target, ring, snapshotId: second.snapshotId });
  console.log(`verify (full + layer, no restore): ${secs(Date.now() - t)} for ${v.objects.toLocaleString()} objects`);

  // ── restore: pg_restore of the dump, then SOT's base + layer, each into an empty database ──
  const a = await fresh("pgrestore");
  restores.push(a.name);
  console.log(`\nload before pg_restore: ${loadAverage()}`);
  const restoreMs = await run("pg_restore", ["--no-owner", "-d", a.url, dumpFile], { PGOPTIONS: `-c maintenance_work_mem=${MAINTENANCE_WORK_MEM}` });
  console.log(`pg_restore (maintenance_work_mem ${MAINTENANCE_WORK_MEM}, indexes incl. HNSW): ${secs(restoreMs)}`);
  await admin.query(`DROP DATABASE IF EXISTS ${a.name} WITH (FORCE)`);

  const b = await fresh("sot");
  restores.push(b.name);
  console.log(`load before SOT restore: ${loadAverage()}`);
  t = Date.now();
  const { result: r, peak: restoreRss } = await peakRss(() => restoreSnapshot({ target, ring, db: { kind: "postgres", url: b.url }, snapshotId: second.snapshotId }));
  const sotRestoreMs = Date.now() - t;
  console.log(
    `SOT restore of full + 1% layer (verify every object, load, rebuild indexes incl. HNSW): ${secs(sotRestoreMs)}; ${r.tables.find((x) => x.name === "chunks")?.rows.toLocaleString()} chunks, ${r.objects.toLocaleString()} objects; peak RSS ${MB(restoreRss)}`,
  );
  console.log(`  ratio restore / pg_restore: ${ratio(sotRestoreMs, restoreMs)} (target ≤ 2×)`);

  console.log(`\nsummary | ${new Date().toISOString().slice(0, 16)}Z | ${os.cpus()[0]?.model} × ${os.cpus().length} | pg_dump ${secs(dumpMs)} | first ${secs(firstMs)} (${ratio(firstMs, dumpMs)}) | incremental ${secs(secondMs)}, ${pct(second.rowsRead, first.rowsRead)} of rows | pg_restore ${secs(restoreMs)} | restore ${secs(sotRestoreMs)} (${ratio(sotRestoreMs, restoreMs)})`);
  console.log(`uptime at end: ${uptime()}`);
} finally {
  for (const name of restores) await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => {});
  await admin.end();
  await scratch.drop();
  await rm(dir, { recursive: true, force: true });
}
