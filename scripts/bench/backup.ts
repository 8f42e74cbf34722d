// `npm run bench:backup`: encrypted incremental backups on PostgreSQL with 100,000 chunks (768-d
// vectors, the full schema with its BM25 postings maintained by triggers), to the local folder target.
// Prints: first backup time and bytes; a second backup after changing 1% of the documents (objects
// and bytes uploaded, as a share of the snapshot); restore time into a fresh database; verify time.
// Figures only — nothing here asserts a timing. BENCH_CHUNKS / BENCH_DATABASE_URL override defaults.
import { execFileSync } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import pg from "pg";
import { createSnapshot, FolderTarget, restoreSnapshot, verifySnapshot } from "@/lib/backup";
import { generateMasterKey, ringFrom } from "@/lib/crypto/keys";
import { BENCH_PG, loadAverage, machine, scratchDb } from "./lib";

const CHUNKS = Number(process.env.BENCH_CHUNKS ?? 100_000);
const PER_DOC = 10;
const DOCS = Math.ceil(CHUNKS / PER_DOC);
const MB = (n: number) => `${(n / 2 ** 20).toFixed(1)} MiB`;
const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

console.log(machine());
console.log(`load average at start (1/5/15 min): ${loadAverage()}`);
console.log(`PostgreSQL ${BENCH_PG.replace(/\/\/[^@/]*@/, "//***@")}: ${CHUNKS.toLocaleString()} chunks in ${DOCS.toLocaleString()} documents, 768-d vectors`);

const scratch = await scratchDb("backup");
const dir = await mkdtemp(path.join(tmpdir(), "sot-bench-backup-"));
const restoreName = `sot_bench_backup_restore_${process.pid}`;
const admin = new pg.Client({ connectionString: BENCH_PG });
await admin.connect();
try {
  const { db } = scratch;
  let t = Date.now();
  // The benchmark corpus does not need an ANN index to be backed up; building it here would only
  // slow the set-up (the restore below does rebuild it, as a real restore must).
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
  await db.sql.exec("ANALYZE");
  const counts = async () =>
    (await db.sql.query<{ t: string; n: string }>(`SELECT 'chunks' AS t, count(*)::text AS n FROM chunks UNION ALL SELECT 'chunk_terms', count(*)::text FROM chunk_terms`))
      .map((r) => `${r.t} ${Number(r.n).toLocaleString()}`)
      .join(", ");
  console.log(`seeded in ${secs(Date.now() - t)}: ${await counts()}`);

  const ring = ringFrom([generateMasterKey()], { kind: "env" });
  const target = new FolderTarget(dir);

  t = Date.now();
  const first = await createSnapshot({ db, target, ring, concurrency: 8 });
  const firstMs = Date.now() - t;
  const du = () => execFileSync("du", ["-sb", dir]).toString().split("\t")[0];
  console.log(
    `first backup: ${secs(firstMs)}; ${first.rowsDone.toLocaleString()} rows in ${first.objectsTotal.toLocaleString()} objects; uploaded ${first.objectsUploaded.toLocaleString()} objects, ${MB(first.bytesUploaded)} (folder on disk ${MB(Number(du()))})`,
  );

  // Change 1% of the documents: title and every chunk's text (the BM25 postings follow by trigger).
  const changed = Math.max(1, Math.round(DOCS / 100));
  await db.sql.query(
    `WITH d AS (SELECT id FROM documents ORDER BY external_id LIMIT $1)
     UPDATE documents SET title = title || ' (revised)', content_hash = md5(content_hash) WHERE id IN (SELECT id FROM d)`,
    [changed],
  );
  await db.sql.query(`UPDATE chunks SET text = text || ' revised paragraph' WHERE document_id IN (SELECT id FROM documents WHERE title LIKE '%(revised)')`);
  t = Date.now();
  const second = await createSnapshot({ db, target, ring, concurrency: 8, now: new Date(Date.now() + 1000) });
  const secondMs = Date.now() - t;
  const pct = (a: number, b: number) => `${((100 * a) / b).toFixed(2)}%`;
  console.log(
    `second backup after changing ${changed} of ${DOCS} documents (1%): ${secs(secondMs)}; uploaded ${second.objectsUploaded.toLocaleString()} of ${second.objectsTotal.toLocaleString()} objects (${pct(second.objectsUploaded, second.objectsTotal)}), ${MB(second.bytesUploaded)} of ${MB(second.bytesTotal)} (${pct(second.bytesUploaded, second.bytesTotal)})`,
  );
  for (const tb of second.tables.filter((x) => x.uploaded > 0)) console.log(`  ${tb.name}: ${tb.uploaded} new objects`);

  t = Date.now();
  const v = await verifySnapshot({ target, ring, snapshotId: second.snapshotId, concurrency: 8 });
  console.log(`verify (no restore): ${secs(Date.now() - t)} for ${v.objects.toLocaleString()} objects`);

  await admin.query(`DROP DATABASE IF EXISTS ${restoreName}`);
  await admin.query(`CREATE DATABASE ${restoreName}`);
  const url = new URL(BENCH_PG);
  url.pathname = `/${restoreName}`;
  t = Date.now();
  const r = await restoreSnapshot({ target, ring, db: { kind: "postgres", url: url.toString() }, snapshotId: second.snapshotId, concurrency: 8 });
  console.log(
    `restore into an empty database (verify every object, load, rebuild indexes incl. HNSW): ${secs(Date.now() - t)}; ${r.tables.find((x) => x.name === "chunks")?.rows.toLocaleString()} chunks, ${r.objects.toLocaleString()} objects`,
  );
  console.log(`load average at end (1/5/15 min): ${loadAverage()}`);
} finally {
  await admin.query(`DROP DATABASE IF EXISTS ${restoreName} WITH (FORCE)`).catch(() => {});
  await admin.end();
  await scratch.drop();
  await rm(dir, { recursive: true, force: true });
}
