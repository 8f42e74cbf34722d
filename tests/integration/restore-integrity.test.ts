// A damaged backup is refused with a message naming what is wrong — tampered object, missing object,
// wrong master key, truncated manifest — and a refused restore leaves the target database empty.
// A backup interrupted halfway leaves the previous snapshot intact, and the next one completes.
import { readdir, readFile, rm, stat, truncate, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  BackupIntegrityError,
  BackupInterruptedError,
  createSnapshot,
  FolderTarget,
  listSnapshots,
  loadManifest,
  restoreSnapshot,
  verifySnapshot,
} from "@/lib/backup";
import { objectKey } from "@/lib/backup/format";
import { openPayloadKeys, payloadRing } from "@/lib/backup/payload-keys";
import { newSnapshotId } from "@/lib/backup/snapshot";
import { httpTransport, KesClient } from "@/lib/kes/client";
import { generateMasterKey } from "@/lib/crypto/keys";
import type { Db } from "@/lib/db/client";
import { openPostgres } from "@/lib/db/client";
import { createDatabase, dropDatabases, dumpAll, migratedDb, seed, tempDir, testKes, testRing } from "@/tests/integration/backup-fixtures";

const key = generateMasterKey();
const ring = testRing(key);
let source: Db;
let folder: Awaited<ReturnType<typeof tempDir>>;
let target: FolderTarget;
let snapshotId: string;
let chunkHash: string;
let chunkObjects: number;

beforeAll(async () => {
  source = await migratedDb();
  await seed(source, ring, { documents: 8, chunksPerDoc: 4 });
  folder = await tempDir();
  target = new FolderTarget(folder.dir);
  // Small segments: one chunk row (with its 768-d vector) per object, so objects can be damaged one by one.
  snapshotId = (await createSnapshot({ db: source, target, ring, segmentBytes: 2048 })).snapshotId;
  const m = await loadManifest(target, ring, snapshotId);
  chunkHash = m.tables.find((t) => t.name === "chunks")!.objects[5][0];
  chunkObjects = m.tables.find((t) => t.name === "chunks")!.objects.length;
});
afterAll(async () => {
  await source?.close();
  await dropDatabases();
  await folder?.cleanup();
});

const objectFile = (hash: string) => path.join(folder.dir, ...objectKey(hash).split("/"));

/** Restore must fail with `message` and leave a truly empty database behind. */
async function expectRefusedRestore(message: RegExp, r = ring) {
  const url = await createDatabase("sot_bk_bad");
  await expect(restoreSnapshot({ target, ring: r, db: { kind: "postgres", url }, snapshotId })).rejects.toThrow(message);
  const db = await openPostgres(url, { poolSize: 1 });
  try {
    const tables = await db.sql.query(`SELECT tablename FROM pg_tables WHERE schemaname = 'public'`);
    expect(tables).toEqual([]);
  } finally {
    await db.close();
  }
}

describe("damaged backups are refused with a clear message", () => {
  it("verifies an intact snapshot", async () => {
    const v = await verifySnapshot({ target, ring, snapshotId });
    expect(v.tables.find((t) => t.name === "chunks")?.rows).toBe(32);
  });

  it("a tampered object (one flipped byte)", async () => {
    const file = objectFile(chunkHash);
    const original = await readFile(file);
    const bad = Buffer.from(original);
    bad[bad.length - 3] ^= 0x40;
    await writeFile(file, bad);
    try {
      const msg = new RegExp(`Object ${objectKey(chunkHash)} \\(table chunks, object 6 of ${chunkObjects}\\) failed its integrity check`);
      await expect(verifySnapshot({ target, ring, snapshotId })).rejects.toThrow(msg);
      await expectRefusedRestore(msg);
    } finally {
      await writeFile(file, original);
    }
  });

  it("an object swapped for another one's content", async () => {
    const m = await loadManifest(target, ring, snapshotId);
    const other = m.tables.find((t) => t.name === "chunks")!.objects[6][0];
    const file = objectFile(chunkHash);
    const original = await readFile(file);
    await writeFile(file, await readFile(objectFile(other)));
    try {
      await expect(verifySnapshot({ target, ring, snapshotId })).rejects.toThrow(new RegExp(`Object ${objectKey(chunkHash)} .*integrity check`));
    } finally {
      await writeFile(file, original);
    }
  });

  it("a missing object", async () => {
    const file = objectFile(chunkHash);
    const original = await readFile(file);
    await rm(file);
    try {
      const msg = new RegExp(`Object ${objectKey(chunkHash)} \\(table chunks, object 6 of ${chunkObjects}\\) is missing from folder`);
      await expect(verifySnapshot({ target, ring, snapshotId })).rejects.toThrow(msg);
      await expectRefusedRestore(msg);
    } finally {
      await writeFile(file, original);
    }
  });

  it("the wrong master key: an unknown key id, or other key bytes under the same id", async () => {
    await expect(verifySnapshot({ target, ring: testRing(generateMasterKey()), snapshotId })).rejects.toThrow(
      new RegExp(`encrypted with master key "${key.id}", which is not configured`),
    );
    const impostor = testRing({ id: key.id, key: generateMasterKey().key });
    await expect(verifySnapshot({ target, ring: impostor, snapshotId })).rejects.toThrow(/invalid signature.*master key/);
    await expectRefusedRestore(/invalid signature/, impostor);
  });

  it("a truncated manifest", async () => {
    const file = path.join(folder.dir, "snapshots", `${snapshotId}.json`);
    const original = await readFile(file);
    await truncate(file, Math.floor(original.length / 2));
    try {
      const msg = new RegExp(`Manifest snapshots/${snapshotId}.json is truncated`);
      await expect(verifySnapshot({ target, ring, snapshotId })).rejects.toThrow(msg);
      await expectRefusedRestore(msg);
    } finally {
      await writeFile(file, original);
    }
    await expect(verifySnapshot({ target, ring, snapshotId })).resolves.toBeTruthy();
  });

  it("an altered manifest (signature)", async () => {
    const file = path.join(folder.dir, "snapshots", `${snapshotId}.json`);
    const original = await readFile(file);
    const json = JSON.parse(original.toString());
    json.createdAt = "2020-01-01T00:00:00.000Z";
    await writeFile(file, JSON.stringify(json));
    try {
      await expect(verifySnapshot({ target, ring, snapshotId })).rejects.toThrow(/invalid signature: it was altered/);
    } finally {
      await writeFile(file, original);
    }
  });

  it("a snapshot that does not exist", async () => {
    await expect(verifySnapshot({ target, ring, snapshotId: "20200101T000000Z-000000" })).rejects.toThrow(BackupIntegrityError);
    await expect(verifySnapshot({ target, ring, snapshotId: "20200101T000000Z-000000" })).rejects.toThrow(/does not exist/);
  });
});

describe("interrupted backup", () => {
  it("leaves the previous snapshot intact; the next backup completes", async () => {
    const before = await listSnapshots(target);
    const manifestBefore = await stat(path.join(folder.dir, "snapshots", `${snapshotId}.json`));
    // Change rows so the next backup has objects to upload, then stop it halfway.
    await source.sql.query(`UPDATE chunks SET text = text || ' v2'`);
    const ctl = new AbortController();
    await expect(
      createSnapshot({
        db: source,
        target,
        ring,
        concurrency: 1,
        segmentBytes: 2048,
        now: new Date(Date.now() + 5000),
        signal: ctl.signal,
        onProgress: (p) => {
          if (p.objectsUploaded >= 3) ctl.abort();
        },
      }),
    ).rejects.toThrow(BackupInterruptedError);
    expect((await listSnapshots(target)).map((s) => s.snapshotId)).toEqual(before.map((s) => s.snapshotId));
    expect((await stat(path.join(folder.dir, "snapshots", `${snapshotId}.json`))).mtimeMs).toBe(manifestBefore.mtimeMs);
    await verifySnapshot({ target, ring, snapshotId });
    // No half-written files under final names.
    const tmp = (await readdir(folder.dir, { recursive: true })).filter((f) => String(f).endsWith(".tmp"));
    expect(tmp).toEqual([]);

    const next = await createSnapshot({ db: source, target, ring, now: new Date(Date.now() + 10000) });
    const url = await createDatabase("sot_bk_after");
    await restoreSnapshot({ target, ring, db: { kind: "postgres", url }, snapshotId: next.snapshotId });
    const restored = await openPostgres(url, { poolSize: 1 });
    try {
      expect(await dumpAll(restored)).toEqual(await dumpAll(source));
    } finally {
      await restored.close();
    }
  });
});

describe("backups through KES: down, and shredded", () => {
  const files = async () => (await readdir(folder.dir, { recursive: true })).map(String).sort();

  it("KES down: the backup fails with a clear 503 before anything is written to the target", async () => {
    const before = await files();
    const down = new KesClient(httpTransport("http://127.0.0.1:9", "x".repeat(32), 1000));
    const err = await payloadRing(target, down, ring, newSnapshotId(new Date(Date.now() + 20_000))).catch((e: unknown) => e);
    expect(err).toMatchObject({ status: 503, code: "kes_unavailable" });
    expect((err as Error).message).toMatch(/cannot be reached; nothing was encrypted or decrypted/);
    expect(await files()).toEqual(before);
    // Reading the target needs KES too once it holds KES-sealed snapshots; with none yet, the master keys suffice.
    await expect(openPayloadKeys(target, down, ring)).resolves.toMatchObject({ origin: { kind: "kes" } });
  });

  it("shredding key backups: its snapshots cannot be decrypted, and verify and restore say why; older snapshots sharing its segments neither", async () => {
    const kes = testKes(source, ring);
    const at = new Date(Date.now() + 30_000);
    const id = newSnapshotId(at);
    await createSnapshot({ db: source, target, ring: await payloadRing(target, kes, ring, id), kes, snapshotId: id, now: at, segmentBytes: 2048 });
    await verifySnapshot({ target, ring: await openPayloadKeys(target, kes, ring), snapshotId: id });

    await kes.shred("backups");
    const after = await openPayloadKeys(target, kes, ring);
    expect(after.byId.has(`kes-${id}`)).toBe(false);
    const msg = new RegExp(`Manifest snapshots/${id}\\.json is encrypted with the data key of snapshot ${id} \\(KES key "backups"\\), which KES did not open: Key "backups" was shredded: data encrypted under it can no longer be decrypted`);
    await expect(verifySnapshot({ target, ring: after, snapshotId: id })).rejects.toThrow(msg);
    const url = await createDatabase("sot_bk_shred");
    await expect(restoreSnapshot({ target, ring: after, db: { kind: "postgres", url }, snapshotId: id })).rejects.toThrow(msg);
    const left = await openPostgres(url, { poolSize: 1 });
    try {
      expect(await left.sql.query(`SELECT tablename FROM pg_tables WHERE schemaname = 'public'`)).toEqual([]);
    } finally {
      await left.close();
    }
    // The escrow beside the backups does not undo a shred: KES knows the key, and its record decides.
    expect((await target.get("keys/escrow/backups"))?.length).toBeGreaterThan(0);
    // Segments an older snapshot shares with it were sealed again by KES (the first KES-sealed snapshot
    // takes over every segment): shredding "backups" leaves no snapshot readable, and says so.
    await expect(verifySnapshot({ target, ring: after, snapshotId })).rejects.toThrow(/which KES did not open: Key "backups" was shredded/);
  });

  it("a shred outlives a restore of a snapshot taken before it, and the restore names what it brought back unreadable", async () => {
    const kes = testKes(source, ring);
    await kes.createKey("cubby.notes");
    const dk = await kes.generateDataKey("cubby.notes", { cubby: "c1", item: "k" });
    const at = new Date(Date.now() + 40_000);
    const own = await tempDir();
    const elsewhere = new FolderTarget(own.dir);
    const before = await createSnapshot({ db: source, target: elsewhere, ring, now: at });
    await kes.shred("cubby.notes");
    // Restore the older snapshot over the database that shredded the key (the last test of this file: it replaces `source`).
    const r = await restoreSnapshot({ target: elsewhere, ring, db: { kind: "postgres", url: source.url! }, snapshotId: before.snapshotId, force: true });
    await own.cleanup();
    expect(r.reshreddedKeys).toEqual(["cubby.notes"]);
    // No cubby row holds values under that key here (KES was called directly): none is named unreadable.
    expect(r.unreadableCubbies).toEqual([]);
    await expect(testKes(source, ring).decryptDataKey(dk.wrapped, { cubby: "c1", item: "k" })).rejects.toMatchObject({ status: 410, code: "key_shredded" });
    const [row] = await source.sql.query<{ material: unknown }>(`SELECT v.material FROM kes_key_versions v JOIN kes_keys k ON k.id = v.key_id WHERE k.name = 'cubby.notes'`);
    expect(row?.material).toBeNull();
  });
});
