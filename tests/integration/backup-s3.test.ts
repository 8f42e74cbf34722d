// The S3-compatible target against s3rver on loopback, through @aws-sdk/client-s3 (path-style, a
// key prefix): round trip, incremental uploads, a tampered object, retention and the sweep.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import S3rver from "s3rver";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { applyRetention, createSnapshot, listSnapshots, loadManifest, restoreSnapshot, S3Target, selectKept, verifySnapshot } from "@/lib/backup";
import { objectKey } from "@/lib/backup/format";
import { openPostgres, type Db } from "@/lib/db/client";
import { createDatabase, dropDatabases, dumpAll, migratedDb, seed, testRing, type Seeded } from "@/tests/integration/backup-fixtures";

const ring = testRing();
let server: S3rver;
let dir: string;
let target: S3Target;
let source: Db;
let seeded: Seeded;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "sot-s3rver-"));
  server = new S3rver({ address: "127.0.0.1", port: 0, silent: true, directory: dir, configureBuckets: [{ name: "sot-backups", configs: [] }] });
  const { port } = (await server.run()) as { port: number };
  target = new S3Target({
    endpoint: `http://127.0.0.1:${port}`,
    region: "us-east-1",
    bucket: "sot-backups",
    prefix: "team/sot",
    accessKeyId: "S3RVER",
    secretAccessKey: "S3RVER",
    forcePathStyle: true,
  });
  source = await migratedDb();
  seeded = await seed(source, ring);
});
afterAll(async () => {
  target?.destroy();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  await source?.close();
  await dropDatabases();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe("S3-compatible target (s3rver)", () => {
  let firstId: string;

  it("backs up incrementally and restores every row", async () => {
    const first = await createSnapshot({ db: source, target, ring });
    firstId = first.snapshotId;
    expect(first.objectsUploaded).toBe(first.objectsTotal);
    const keys = (await target.list("")).map((k) => k.key);
    expect(keys).toContain(`snapshots/${first.snapshotId}.json`);
    expect(keys.filter((k) => k.startsWith("objects/")).length).toBe(first.objectsUploaded);

    await source.sql.query(`UPDATE documents SET title = 'Renamed' WHERE id = $1`, [seeded.documentIds[0]]);
    const second = await createSnapshot({ db: source, target, ring, now: new Date(Date.now() + 1500) });
    // A layer over the first: the changed row and its key, beside the key service's audit entry.
    expect(second.parent).toBe(first.snapshotId);
    expect(second.tables.find((t) => t.name === "documents")?.read).toBe(1);
    expect(second.tables.find((t) => t.name === "chunks")?.read).toBe(0);
    expect(second.objectsUploaded).toBeLessThanOrEqual(6);

    const url = await createDatabase("sot_bk_s3");
    const res = await restoreSnapshot({ target, ring, db: { kind: "postgres", url } });
    expect(res.snapshotId).toBe(second.snapshotId); // "latest" by default
    const restored = await openPostgres(url, { poolSize: 1 });
    try {
      expect(await dumpAll(restored)).toEqual(await dumpAll(source));
    } finally {
      await restored.close();
    }
  });

  it("refuses a tampered object naming it", async () => {
    const m = await (await import("@/lib/backup")).loadManifest(target, ring, firstId);
    const hash = m.tables.find((t) => t.name === "chunks")!.objects[0][0];
    const body = (await target.get(objectKey(hash)))!;
    const bad = Buffer.from(body);
    bad[bad.length - 1] ^= 1;
    await target.put(objectKey(hash), bad);
    try {
      const n = m.tables.find((t) => t.name === "chunks")!.objects.length;
      await expect(verifySnapshot({ target, ring, snapshotId: firstId })).rejects.toThrow(new RegExp(`Object ${objectKey(hash)} \\(table chunks, object 1 of ${n}\\) failed its integrity check`));
    } finally {
      await target.put(objectKey(hash), body);
    }
  });

  it("retention keeps the newest per day and per week, and the sweep removes what nothing references", async () => {
    // Snapshots on six consecutive past days, each with one changed row.
    const day = 86400_000;
    const base = Date.UTC(2026, 0, 5, 12); // a Monday
    for (let i = 0; i < 6; i++) {
      await source.sql.query(`UPDATE collections SET description = $1`, [`day ${i}`]);
      await createSnapshot({ db: source, target, ring, now: new Date(base + i * day) });
    }
    const all = (await listSnapshots(target)).map((s) => s.snapshotId);
    expect(all.length).toBe(8);
    const expected = selectKept(all, 2, 2);
    const objectsBefore = (await target.list("objects/")).length;
    const r = await applyRetention({ target, ring, keepDaily: 2, keepWeekly: 2, graceMs: 0 });
    // Daily: today's newest and 10 Jan; weekly: this week's newest and the newest of 5–11 Jan (10 Jan again);
    // and whatever those stand on (an incremental snapshot needs its parents).
    const needed = new Set(expected);
    for (const id of expected) {
      for (let m = await loadManifest(target, ring, id); m.parent; m = await loadManifest(target, ring, m.parent)) needed.add(m.parent);
    }
    expect(new Set(r.kept)).toEqual(needed);
    expect([...expected].sort()).toEqual([all[0], all[2]].sort());
    expect(all[2].startsWith("20260110T120000Z")).toBe(true);
    expect(r.deleted.length).toBe(all.length - needed.size);
    expect(r.swept).toBeGreaterThan(0);
    expect((await target.list("objects/")).length).toBe(objectsBefore - r.swept);
    // Every kept snapshot is still complete.
    for (const id of r.kept) await verifySnapshot({ target, ring, snapshotId: id });
  });
});

describe("retention rule", () => {
  it("keeps the newest snapshot of each of the last N days and W ISO weeks", () => {
    const ids = [
      "20260112T100000Z-a", // Mon week 3
      "20260111T230000Z-b", // Sun week 2
      "20260111T080000Z-c", // Sun week 2 (older, same day)
      "20260110T080000Z-d", // Sat week 2
      "20260104T080000Z-e", // Sun week 1
      "20251228T080000Z-f", // Sun week 52 of 2025
    ];
    expect([...selectKept(ids, 2, 0)].sort()).toEqual(["20260111T230000Z-b", "20260112T100000Z-a"]);
    expect([...selectKept(ids, 1, 3)].sort()).toEqual(["20260104T080000Z-e", "20260111T230000Z-b", "20260112T100000Z-a"]);
    expect([...selectKept(ids, 1, 0)]).toEqual(["20260112T100000Z-a"]);
  });
});
