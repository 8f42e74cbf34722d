// The embedded default (PGlite in the process) backs up to the folder target too, and its snapshot
// restores both into another embedded database and into PostgreSQL — the way from a trial install
// to production.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createSnapshot, FolderTarget, restoreSnapshot } from "@/lib/backup";
import { openPostgres, usePglite, type Db } from "@/lib/db/client";
import { openInMemory } from "@/lib/db/embedded";
import { createDatabase, dropDatabases, dumpAll, migrationNames, seed, tempDir, testRing } from "@/tests/integration/backup-fixtures";

const ring = testRing();
let source: Db;
let folder: Awaited<ReturnType<typeof tempDir>>;

beforeAll(async () => {
  source = await usePglite(await openInMemory());
  await seed(source, ring, { documents: 3, chunksPerDoc: 2 });
  folder = await tempDir();
});
afterAll(async () => {
  await source?.close();
  await dropDatabases();
  await folder?.cleanup();
});

describe("embedded default (PGlite)", () => {
  it("backs up, and restores into a fresh embedded database and into PostgreSQL", async () => {
    const target = new FolderTarget(folder.dir);
    const snap = await createSnapshot({ db: source, target, ring });
    expect(snap.tables.find((t) => t.name === "chunks")?.rows).toBe(6);
    const before = await dumpAll(source);

    const pglite = await openInMemory();
    await restoreSnapshot({ target, ring, db: { kind: "pglite", pglite }, snapshotId: snap.snapshotId });
    const embedded = await usePglite(pglite); // migrations already at the snapshot's level: nothing to apply
    try {
      expect(await dumpAll(embedded)).toEqual(before);
      expect(await migrationNames(embedded)).toEqual(await migrationNames(source));
    } finally {
      await embedded.close();
    }

    // Change tracking runs on PGlite too: an incremental layer of the one edited chunk, then base + layer
    // restored into PostgreSQL.
    await source.sql.query(`UPDATE chunks SET text = text || ' edited' WHERE position = 0 AND text LIKE '%page 1:%'`);
    const layer = await createSnapshot({ db: source, target, ring, now: new Date(Date.now() + 2000) });
    expect(layer.parent).toBe(snap.snapshotId);
    expect(layer.tables.find((t) => t.name === "chunks")?.read).toBe(1);
    const after = await dumpAll(source);

    const url = await createDatabase("sot_bk_from_pglite");
    await restoreSnapshot({ target, ring, db: { kind: "postgres", url }, snapshotId: layer.snapshotId });
    const pgDb = await openPostgres(url, { poolSize: 1 });
    try {
      expect(await dumpAll(pgDb)).toEqual(after);
    } finally {
      await pgDb.close();
    }
  });
});
