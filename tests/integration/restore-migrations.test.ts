// Restore rebuilds the schema at the snapshot's migration level: a migration that seeds rows does not
// collide with the snapshot's copy of them, and a snapshot from a newer schema is refused by name.
import { cp, mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createSnapshot, FolderTarget, restoreSnapshot, RestoreRefusedError } from "@/lib/backup";
import { openPostgres, type Db } from "@/lib/db/client";
import { applyMigrations, MIGRATIONS_DIR } from "@/lib/db/migrate";
import { pgRunner } from "@/lib/db/sql-runner";
import { createDatabase, dropDatabases, dumpAll, seed, tempDir, testRing } from "@/tests/integration/backup-fixtures";

const ring = testRing();
let tmp: Awaited<ReturnType<typeof tempDir>>;
let migrations: string;
let source: Db;

beforeAll(async () => {
  tmp = await tempDir();
  migrations = path.join(tmp.dir, "migrations");
  await cp(MIGRATIONS_DIR, migrations, { recursive: true });
  // A later migration that seeds reference data, as migrations sometimes do.
  await mkdir(path.join(migrations, "20991231000000_seed_reference"));
  await writeFile(
    path.join(migrations, "20991231000000_seed_reference", "migration.sql"),
    `INSERT INTO collections (id, slug, name) VALUES ('00000000-0000-4000-8000-00000000abcd', 'reference', 'Reference');`,
  );
  const url = await createDatabase("sot_bk_mig");
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  await applyMigrations(pgRunner(client), { dir: migrations });
  await client.end();
  source = await openPostgres(url, { poolSize: 2 });
  await seed(source, ring, { documents: 2, chunksPerDoc: 1 });
  await source.sql.query(`UPDATE collections SET name = 'Reference (edited)' WHERE slug = 'reference'`);
});
afterAll(async () => {
  await source?.close();
  await dropDatabases();
  await tmp?.cleanup();
});

describe("restore and migrations", () => {
  it("restores over rows a migration seeded, keeping the snapshot's version of them", async () => {
    const target = new FolderTarget(path.join(tmp.dir, "backups"));
    const snap = await createSnapshot({ db: source, target, ring });
    const url = await createDatabase("sot_bk_mig_restore");
    await restoreSnapshot({ target, ring, db: { kind: "postgres", url }, snapshotId: snap.snapshotId, migrationsDir: migrations });
    const restored = await openPostgres(url, { poolSize: 1 });
    try {
      expect(await dumpAll(restored)).toEqual(await dumpAll(source));
      expect((await restored.sql.query(`SELECT name FROM collections WHERE slug = 'reference'`))[0].name).toBe("Reference (edited)");
    } finally {
      await restored.close();
    }

    // This code base (without that migration) refuses the snapshot and says which migration it lacks.
    const other = await createDatabase("sot_bk_mig_refused");
    await expect(restoreSnapshot({ target, ring, db: { kind: "postgres", url: other }, snapshotId: snap.snapshotId })).rejects.toThrow(RestoreRefusedError);
    await expect(restoreSnapshot({ target, ring, db: { kind: "postgres", url: other }, snapshotId: snap.snapshotId })).rejects.toThrow(
      /missing migrations: 20991231000000_seed_reference/,
    );
  });
});
