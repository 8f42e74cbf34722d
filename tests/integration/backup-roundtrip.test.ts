// Back up real PostgreSQL + pgvector to the local folder target, restore into fresh databases and
// compare every row and vector; incremental behaviour; refusing a non-empty target.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createSnapshot, FolderTarget, restoreSnapshot, RestoreRefusedError, verifySnapshot } from "@/lib/backup";
import { decryptSecretWith } from "@/lib/crypto/secrets";
import { openPostgres, type Db } from "@/lib/db/client";
import { readFile, utimes } from "node:fs/promises";
import path from "node:path";
import { ESCROW_OBJECT, openPayloadKeys, payloadRing } from "@/lib/backup/payload-keys";
import { sweepObjects } from "@/lib/backup/retention";
import { listSnapshots, newSnapshotId } from "@/lib/backup/snapshot";
import { createDatabase, dropDatabases, dumpAll, migratedDb, migrationNames, seed, tempDir, testKes, testRing, type Seeded } from "@/tests/integration/backup-fixtures";

const ring = testRing();
let source: Db;
let seeded: Seeded;
let folder: Awaited<ReturnType<typeof tempDir>>;
let target: FolderTarget;
const opened: Db[] = [];

beforeAll(async () => {
  source = await migratedDb();
  seeded = await seed(source, ring);
  folder = await tempDir();
  target = new FolderTarget(folder.dir);
});
afterAll(async () => {
  await Promise.all([source, ...opened].map((d) => d?.close()));
  await dropDatabases();
  await folder?.cleanup();
});

async function restoreFresh(snapshotId: string): Promise<Db> {
  const url = await createDatabase("sot_bk_restore");
  const res = await restoreSnapshot({ target, ring, db: { kind: "postgres", url }, snapshotId });
  expect(res.snapshotId).toBe(snapshotId);
  const db = await openPostgres(url, { poolSize: 2 });
  opened.push(db);
  return db;
}

describe("backup → restore round trip (folder target, PostgreSQL)", () => {
  let first: Awaited<ReturnType<typeof createSnapshot>>;

  it("restores every row and vector bit-exactly into an empty database", async () => {
    first = await createSnapshot({ db: source, target, ring });
    const before = await dumpAll(source);
    expect(before.chunks.length).toBe(18);
    expect(first.objectsUploaded).toBe(first.objectsTotal);
    expect(first.tables.find((t) => t.name === "chunks")?.rows).toBe(18);
    // Queue internals and backup history are not data.
    expect(first.tables.map((t) => t.name)).not.toContain("backups");
    expect(first.tables.map((t) => t.name)).not.toContain("_prisma_migrations");

    const restored = await restoreFresh(first.snapshotId);
    expect(await dumpAll(restored)).toEqual(before);
    expect(await migrationNames(restored)).toEqual(await migrationNames(source));
    // Secrets stay encrypted in the snapshot and still decrypt with the master key after restore.
    const [src] = await restored.sql.query<{ c: string }>(`SELECT secret_ciphertext AS c FROM sources WHERE id = $1`, [seeded.sourceId]);
    expect(src.c.startsWith("sot:v1:")).toBe(true);
    expect(decryptSecretWith(ring, src.c)).toBe(seeded.secretPlain);
    // Indexes are rebuilt (HNSW and full-text included) and generated columns recomputed.
    const idx = (await restored.sql.query<{ n: string }>(`SELECT indexname AS n FROM pg_indexes WHERE schemaname = 'public'`)).map((r) => r.n);
    expect(idx).toEqual(expect.arrayContaining(["chunks_embedding_hnsw_idx", "chunks_tsv_gin_idx", "documents_source_id_external_id_key"]));
    const [hit] = await restored.sql.query<{ n: string }>(`SELECT count(*)::text AS n FROM chunks WHERE tsv @@ to_tsquery('english', 'deploy')`);
    expect(Number(hit.n)).toBe(18);
  });

  it("stores nothing in clear: no row text or secret appears in the target", async () => {
    const { readdir, readFile } = await import("node:fs/promises");
    const files = (await readdir(folder.dir, { recursive: true, withFileTypes: true })).filter((e) => e.isFile());
    // a segment per table with rows, the manifest, the wrapped naming key
    expect(files.length).toBeGreaterThan(10);
    for (const f of files) {
      const body = await readFile(`${f.parentPath}/${f.name}`);
      expect(body.includes("deployments")).toBe(false);
      expect(body.includes(seeded.secretPlain)).toBe(false);
      expect(body.includes("ada@example.com")).toBe(false);
    }
  });

  it("a second backup reads and uploads only the rows that changed, and restores to the new state", async () => {
    const unchanged = await createSnapshot({ db: source, target, ring, now: new Date(Date.now() + 1000) });
    expect(unchanged.parent).toBe(first.snapshotId);
    expect(unchanged.tables.find((t) => t.name === "chunks")?.read).toBe(0);

    // Change one document (its row and its 3 chunks) out of 6.
    const doc = seeded.documentIds[2];
    await source.sql.query(`UPDATE documents SET title = 'Edited', content_hash = 'h2' WHERE id = $1`, [doc]);
    await source.sql.query(`UPDATE chunks SET text = text || ' edited' WHERE document_id = $1`, [doc]);
    const second = await createSnapshot({ db: source, target, ring, now: new Date(Date.now() + 2000) });
    const read = (name: string) => second.tables.find((t) => t.name === name)?.read;
    expect(read("documents")).toBe(1);
    expect(read("chunks")).toBe(3);
    expect(read("collections")).toBe(0);
    // Other tables derive rows from chunks (search postings), but most of the database is not read again.
    expect(second.rowsRead).toBeLessThan(first.rowsRead / 2);

    const restored = await restoreFresh(second.snapshotId);
    expect(await dumpAll(restored)).toEqual(await dumpAll(source));
    const v = await verifySnapshot({ target, ring, snapshotId: first.snapshotId });
    expect(v.objects).toBe(first.objectsTotal);
  });

  it("refuses a database that holds rows unless forced, then replaces it", async () => {
    const other = await migratedDb();
    opened.push(other);
    await other.sql.query(`INSERT INTO collections (slug, name) VALUES ('other', 'Other')`);
    const url = other.url!;
    await expect(restoreSnapshot({ target, ring, db: { kind: "postgres", url }, snapshotId: first.snapshotId })).rejects.toThrow(RestoreRefusedError);
    await expect(restoreSnapshot({ target, ring, db: { kind: "postgres", url }, snapshotId: first.snapshotId })).rejects.toThrow(
      /not empty \(rows in collections\).*--force/,
    );
    // Refused means untouched.
    expect((await other.sql.query(`SELECT slug FROM collections`)).map((r) => r.slug)).toEqual(["other"]);

    // A migrated database without rows counts as empty.
    const blank = await migratedDb();
    opened.push(blank);
    await restoreSnapshot({ target, ring, db: { kind: "postgres", url: blank.url! }, snapshotId: first.snapshotId });
    expect((await blank.sql.query(`SELECT slug FROM collections`)).map((r) => r.slug)).toEqual(["eng"]);

    await restoreSnapshot({ target, ring, db: { kind: "postgres", url }, snapshotId: first.snapshotId, force: true });
    expect((await other.sql.query(`SELECT slug FROM collections`)).map((r) => r.slug)).toEqual(["eng"]);
  });
});

describe("payloads sealed through KES (key `backups`, a data key per snapshot)", () => {
  it("restores with KES alone, old snapshots keep restoring, and after the database is lost KES opens them through the escrow", async () => {
    const legacyIds = (await listSnapshots(target)).map((x) => x.snapshotId);
    expect(legacyIds.length).toBeGreaterThanOrEqual(2);
    const kes = testKes(source, ring);
    const at = new Date(Date.now() + 60_000);
    const id = newSnapshotId(at);
    const snap = await createSnapshot({ db: source, target, ring: await payloadRing(target, kes, ring, id), kes, snapshotId: id, now: at });
    const expected = await dumpAll(source); // before the reads below add KES's audit rows
    // The first snapshot sealed by KES builds on nothing sealed by a master key: full, every segment sealed again.
    expect(snap.parent).toBeNull();
    expect(snap.objectsUploaded).toBe(snap.objectsTotal);
    const manifestFile = JSON.parse(await readFile(path.join(folder.dir, "snapshots", `${id}.json`), "utf8"));
    expect(manifestFile.keyId).toBe(`kes-${id}`);
    expect((await target.get(`keys/payload/kes-${id}`))!.toString()).toMatch(/^kes:v1:backups:1:[A-Za-z0-9_-]+$/);
    const escrow = JSON.parse((await target.get(ESCROW_OBJECT))!.toString());
    expect(escrow).toMatchObject({ name: "backups", versions: [{ version: 1, masterKeyId: ring.current.id }] });

    // No master key at all: KES opens the snapshot's data key, and it restores bit-exactly.
    const kesOnly = await openPayloadKeys(target, kes, null);
    expect([...kesOnly.byId.keys()]).toEqual([`kes-${id}`]);
    const url = await createDatabase("sot_bk_kes");
    await restoreSnapshot({ target, ring: kesOnly, db: { kind: "postgres", url }, snapshotId: id });
    const restored = await openPostgres(url, { poolSize: 2 });
    opened.push(restored);
    expect(await dumpAll(restored)).toEqual(expected);
    // KES audited it: one generate for the snapshot, decrypts for each reader.
    const audits = await source.sql.query<{ action: string }>(`SELECT action FROM audit_log WHERE target = 'kes-key:backups' ORDER BY at`);
    expect(audits.map((a) => a.action)).toEqual(expect.arrayContaining(["kes.create", "kes.generate", "kes.export-sealed", "kes.decrypt"]));

    // Snapshots written before KES still verify and restore, with the master keys beside KES's keys.
    const both = await openPayloadKeys(target, kes, ring);
    for (const old of legacyIds) await verifySnapshot({ target, ring: both, snapshotId: old });
    const oldUrl = await createDatabase("sot_bk_old");
    await restoreSnapshot({ target, ring: both, db: { kind: "postgres", url: oldUrl }, snapshotId: legacyIds[0] });

    // The database is lost, KES's keys with it: KES on an empty database opens the data key through the
    // escrow (only with its master key), and the snapshot restores into that very database.
    // (a new, migrated database: KES's tables exist and hold no key; opening from the escrow adds no row to it)
    const lost = await migratedDb();
    const lostUrl = lost.url!;
    opened.push(lost);
    const viaEscrow = await openPayloadKeys(target, testKes(lost, ring), null);
    expect(viaEscrow.byId.has(`kes-${id}`)).toBe(true);
    await restoreSnapshot({ target, ring: viaEscrow, db: { kind: "postgres", url: lostUrl }, snapshotId: id });
    expect(await dumpAll(lost)).toEqual(expected);
    // A KES without that master key opens nothing, and says which key it lacks.
    const stranger = await openPostgres(await createDatabase("sot_bk_stranger"), { poolSize: 1 });
    opened.push(stranger);
    await expect(openPayloadKeys(target, testKes(stranger, testRing()), null)).rejects.toMatchObject({ status: 503 });
    await expect(openPayloadKeys(target, testKes(stranger, testRing()), null)).rejects.toThrow(
      `The escrow of key "backups" version 1 is sealed by master key "${ring.current.id}", which KES does not hold.`,
    );

    // Key "backups" rotated after the snapshot the lost database was restored from: that database knows the
    // key but not version 2, and its owner opens the newer snapshot's key from the escrow.
    await kes.addVersion("backups");
    await kes.promote("backups", 2);
    const at2 = new Date(at.getTime() + 60_000);
    const id2 = newSnapshotId(at2);
    await createSnapshot({ db: source, target, ring: await payloadRing(target, kes, ring, id2), kes, snapshotId: id2, now: at2 });
    expect((await target.get(`keys/payload/kes-${id2}`))!.toString()).toMatch(/^kes:v1:backups:2:/);
    const afterRotation = await openPayloadKeys(target, testKes(lost, ring), null);
    expect([...afterRotation.byId.keys()].sort()).toEqual([`kes-${id}`, `kes-${id2}`]);
    await verifySnapshot({ target, ring: afterRotation, snapshotId: id2 });

    // Retention drops payload keys no manifest uses (a backup that failed after taking one), keeps the rest.
    await target.put("keys/payload/kes-20200101T000000Z-000000", Buffer.from("kes:v1:backups:1:AAAA"));
    await utimes(path.join(folder.dir, "keys", "payload", "kes-20200101T000000Z-000000"), new Date(0), new Date(0));
    await sweepObjects({ target, ring: await openPayloadKeys(target, kes, ring), graceMs: 60_000 });
    expect((await target.list("keys/payload/")).map((o) => o.key).sort()).toEqual([`keys/payload/kes-${id}`, `keys/payload/kes-${id2}`]);
  });
});
