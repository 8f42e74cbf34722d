// Incremental backups through change tracking, on real PostgreSQL: a 1% change reads about 1% of the
// rows (counted, not timed); base + layers restore to exactly the source database; writes by a
// transaction that was open during a snapshot land in the next layer; keyed object names whose key
// comes from KES; snapshots written in format 1 still restore.
import { createHmac } from "node:crypto";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { applyRetention, createSnapshot, FolderTarget, listSnapshots, loadManifest, restoreSnapshot, sweepObjects, verifySnapshot } from "@/lib/backup";
import { sha256Hex } from "@/lib/backup/format";
import { NAMING_OBJECT } from "@/lib/backup/naming";
import { openPostgres, type Db } from "@/lib/db/client";
import type { KesClient } from "@/lib/kes/client";
import { createDatabase, dropDatabases, dumpAll, migratedDb, seed, tempDir, testKes, testRing, type Seeded } from "@/tests/integration/backup-fixtures";
import { writeV1Snapshot } from "@/tests/integration/backup-v1-writer";

const ring = testRing();
let source: Db;
let seeded: Seeded;
let kes: KesClient;
let folder: Awaited<ReturnType<typeof tempDir>>;
let target: FolderTarget;
const opened: Db[] = [];
let clock = Date.now();
const later = () => new Date((clock += 2000));

beforeAll(async () => {
  source = await migratedDb();
  seeded = await seed(source, ring, { documents: 100, chunksPerDoc: 3 });
  kes = testKes(source, ring);
  folder = await tempDir();
  target = new FolderTarget(folder.dir);
}, 120_000);
afterAll(async () => {
  await Promise.all([source, ...opened].map((d) => d?.close()));
  await dropDatabases();
  await folder?.cleanup();
});

async function restoreFresh(snapshotId: string, from = target): Promise<Db> {
  const url = await createDatabase("sot_bk_inc");
  await restoreSnapshot({ target: from, ring, db: { kind: "postgres", url }, snapshotId });
  const db = await openPostgres(url, { poolSize: 2 });
  opened.push(db);
  return db;
}

const snapshot = () => createSnapshot({ db: source, target, ring, kes, now: later() });

describe("incremental backups (change tracking, PostgreSQL)", () => {
  let full: Awaited<ReturnType<typeof createSnapshot>>;
  let layer: Awaited<ReturnType<typeof createSnapshot>>;

  it("after a 1% change reads about 1% of the rows, and base + layer restore to exactly the source", async () => {
    full = await snapshot();
    expect(full.parent).toBeNull();
    expect(full.tables.every((t) => t.full)).toBe(true);
    expect(full.tables.find((t) => t.name === "chunks")?.read).toBe(300);

    // One document of 100: its row and its 3 chunks (their search postings follow by trigger).
    const doc = seeded.documentIds[42];
    await source.sql.query(`UPDATE documents SET title = 'Edited', content_hash = 'h42' WHERE id = $1`, [doc]);
    await source.sql.query(`UPDATE chunks SET text = text || ' revised' WHERE document_id = $1`, [doc]);

    layer = await snapshot();
    expect(layer.parent).toBe(full.snapshotId);
    const read = (name: string) => layer.tables.find((t) => t.name === name)?.read;
    expect(read("documents")).toBe(1);
    expect(read("chunks")).toBe(3);
    expect(read("collections")).toBe(0);
    expect(read("users")).toBe(0);
    // Postings of 3 chunks out of 300, and nothing else: about 1% of every row there is.
    expect(layer.rowsRead).toBeGreaterThan(0);
    expect(layer.rowsRead / full.rowsRead).toBeLessThan(0.015);
    expect(layer.objectsUploaded).toBeLessThan(full.objectsUploaded);

    const restored = await restoreFresh(layer.snapshotId);
    expect(await dumpAll(restored)).toEqual(await dumpAll(source));
    // The full snapshot alone still restores to the state before the change.
    const old = await restoreFresh(full.snapshotId);
    const [t] = await old.sql.query<{ title: string }>(`SELECT title FROM documents WHERE id = $1`, [doc]);
    expect(t.title).not.toBe("Edited");
  });

  it("a backup with nothing changed reads no rows and uploads nothing", async () => {
    const idle = await snapshot();
    expect(idle.parent).not.toBeNull();
    // The one row is KES's audit entry for unwrapping the naming key (KES runs on this same database).
    expect(idle.tables.filter((t) => t.read > 0).map((t) => t.name)).toEqual(expect.arrayContaining(["audit_log"]));
    expect(idle.tables.filter((t) => t.read > 0 && t.name !== "audit_log")).toEqual([]);
    expect(idle.rowsRead).toBeLessThanOrEqual(2);
  });

  it("deletes, inserts and a truncated table come through a chain of layers", async () => {
    // Deleting a document takes its chunks (ON DELETE CASCADE) and their postings with it.
    await source.sql.query(`DELETE FROM documents WHERE id = $1`, [seeded.documentIds[7]]);
    await source.sql.query(
      `WITH d AS (INSERT INTO documents (collection_id, source_id, external_id, title, content_hash)
                  SELECT collection_id, id, 'page-new', 'New page', 'hn' FROM sources WHERE id = $1 RETURNING id, collection_id)
       INSERT INTO chunks (document_id, collection_id, position, heading_path, text, token_count, content_hash, embedding_model)
       SELECT d.id, d.collection_id, p, ARRAY['New'], 'A new chunk about rollbacks ' || p, 5, 'hn-' || p, 'nomic-embed-text' FROM d, generate_series(0, 1) p`,
      [seeded.sourceId],
    );
    await source.sql.query(`TRUNCATE scores`);
    const next = await snapshot();
    expect(next.parent).not.toBeNull();
    const t = (name: string) => next.tables.find((x) => x.name === name)!;
    expect(t("scores").full).toBe(true);
    expect(t("chunks").full).toBe(false);
    expect(t("chunks").read).toBe(2); // the deleted ones are keys without rows
    const restored = await restoreFresh(next.snapshotId);
    expect(await dumpAll(restored)).toEqual(await dumpAll(source));
    expect((await verifySnapshot({ target, ring, snapshotId: next.snapshotId })).snapshotId).toBe(next.snapshotId);
  });

  it("a write by a transaction still open while a snapshot is read lands in the next layer", async () => {
    const writer = new pg.Client({ connectionString: source.url });
    await writer.connect();
    try {
      await writer.query("BEGIN");
      await writer.query(`UPDATE collections SET name = 'Renamed while a backup ran'`);
      const during = await snapshot();
      expect(during.tables.find((t) => t.name === "collections")?.read).toBe(0);
      await writer.query("COMMIT");
    } finally {
      await writer.end();
    }
    const after = await snapshot();
    expect(after.tables.find((t) => t.name === "collections")?.read).toBe(1);
    const restored = await restoreFresh(after.snapshotId);
    expect(await dumpAll(restored)).toEqual(await dumpAll(source));
    expect((await restored.sql.query<{ name: string }>(`SELECT name FROM collections`))[0].name).toBe("Renamed while a backup ran");
  });

  it("a restored database starts a new chain: its first backup is full", async () => {
    const restored = await restoreFresh((await listSnapshots(target))[0].snapshotId);
    const elsewhere = await tempDir();
    try {
      const t2 = new FolderTarget(elsewhere.dir);
      const first = await createSnapshot({ db: restored, target: t2, ring, kes: testKes(restored, ring), now: later() });
      expect(first.parent).toBeNull();
      // Its change log is its own (a new tracking id), so a snapshot of the source is never its parent.
      const [a] = await source.sql.query<{ id: string }>(`SELECT tracking_id::text AS id FROM backup_tracking`);
      const [b] = await restored.sql.query<{ id: string }>(`SELECT tracking_id::text AS id FROM backup_tracking`);
      expect(a.id).not.toBe(b.id);
    } finally {
      await elsewhere.cleanup();
    }
  });

  it("retention keeps the snapshots a kept incremental one stands on", async () => {
    const newest = (await listSnapshots(target))[0].snapshotId;
    const r = await applyRetention({ target, ring, keepDaily: 1, keepWeekly: 0, graceMs: 0, now: later() });
    expect(r.kept).toContain(full.snapshotId);
    expect(r.kept).toContain(newest);
    const restored = await restoreFresh(newest);
    expect(await dumpAll(restored)).toEqual(await dumpAll(source));
  });
});

describe("keyed object names and format 1", () => {
  it("names objects by HMAC under a naming key from KES, which the target holds only wrapped", async () => {
    const wrapped = (await target.get(NAMING_OBJECT))!.toString("utf8");
    expect(wrapped).toMatch(/^kes:v1:sot\.backup:1:/);
    const key = await kes.decryptDataKey(wrapped, { purpose: "backup-object-names" });
    const newest = (await listSnapshots(target))[0].snapshotId;
    const m = await loadManifest(target, ring, newest);
    expect(Buffer.from(m.naming!.key, "base64").equals(key)).toBe(true);
    // verify decrypts every object and checks its name is the HMAC of its content under that key
    await verifySnapshot({ target, ring, snapshotId: newest });
    // Someone holding the bucket cannot confirm a guessed row: its plain SHA-256 address (format 1) is not there.
    const [u] = await source.sql.query<{ j: string }>(`SELECT row_to_json(t)::text AS j FROM users t`);
    const names = new Set((await target.list("objects/")).map((o) => o.key.split("/").pop()));
    expect(names.has(sha256Hex(`[${u.j}]`))).toBe(false);
    expect(names.has(sha256Hex(u.j))).toBe(false);
    // …while with the key (which only KES and the master-key holder can open) the same row's segment is found.
    expect(names.has(createHmac("sha256", key).update(u.j).digest("hex"))).toBe(true);
  });

  it("restores a snapshot written in format 1 (one object per row, SHA-256 names); the next backup is full", async () => {
    const old = await tempDir();
    try {
      const t1 = new FolderTarget(old.dir);
      const id = await writeV1Snapshot(source, t1, ring, later());
      expect((await loadManifest(t1, ring, id)).format).toBe("sot-snapshot-manifest/1");
      const v = await verifySnapshot({ target: t1, ring, snapshotId: id });
      expect(v.tables.find((t) => t.name === "chunks")?.rows).toBeGreaterThan(290);
      const restored = await restoreFresh(id, t1);
      expect(await dumpAll(restored)).toEqual(await dumpAll(source));
      const next = await createSnapshot({ db: source, target: t1, ring, kes, now: later() });
      expect(next.parent).toBeNull();
      // The sweep reads both formats: the format-1 snapshot's objects stay while its manifest does.
      expect(await sweepObjects({ target: t1, ring, graceMs: 0, now: later() })).toBe(0);
      await verifySnapshot({ target: t1, ring, snapshotId: id });
    } finally {
      await old.cleanup();
    }
  });
});
