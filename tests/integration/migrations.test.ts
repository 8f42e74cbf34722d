// The migration runner on real PostgreSQL (and PGlite): Prisma-compatible bookkeeping, idempotence,
// all-or-nothing failures, and the indexes retrieval depends on.
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, cpSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { usePglite } from "@/lib/db/client";
import { openInMemory } from "@/lib/db/embedded";
import { applyMigrations, migrationStatus, MIGRATIONS_DIR, readMigrations } from "@/lib/db/migrate";
import { pgRunner, pgliteRunner, type SqlRunner } from "@/lib/db/sql-runner";
import { createEmptyPostgres, testServerUrl } from "@/tests/helpers/db";
import { makeDocument, makeIngestTarget } from "@/tests/helpers/factories";

async function withRunner<T>(fn: (sql: SqlRunner) => Promise<T>): Promise<T> {
  const empty = await createEmptyPostgres();
  if (!empty) {
    const pglite = await openInMemory();
    try {
      return await fn(pgliteRunner(pglite));
    } finally {
      await pglite.close();
    }
  }
  const client = new pg.Client({ connectionString: empty.url });
  await client.connect();
  try {
    return await fn(pgRunner(client));
  } finally {
    await client.end();
    await empty.drop();
  }
}

describe(`migrations on ${testServerUrl() ? "PostgreSQL" : "PGlite"}`, () => {
  it("applies every migration once, recording Prisma's checksum, and is idempotent", async () => {
    await withRunner(async (sql) => {
      const files = await readMigrations();
      const first = await applyMigrations(sql);
      expect(first.applied).toEqual(files.map((f) => f.name));
      const second = await applyMigrations(sql);
      expect(second.applied).toEqual([]);
      const rows = await sql.query<{ migration_name: string; checksum: string; finished_at: Date; applied_steps_count: number }>(
        `SELECT migration_name, checksum, finished_at, applied_steps_count FROM _prisma_migrations ORDER BY migration_name`,
      );
      expect(rows.map((r) => r.migration_name)).toEqual(files.map((f) => f.name));
      for (const [i, r] of rows.entries()) {
        const { readFileSync } = await import("node:fs");
        const text = readFileSync(path.join(MIGRATIONS_DIR, files[i]!.name, "migration.sql"), "utf8");
        expect(r.checksum).toBe(createHash("sha256").update(text).digest("hex"));
        expect(r.finished_at).not.toBeNull();
        expect(r.applied_steps_count).toBe(1);
      }
      expect((await migrationStatus(sql)).pending).toEqual([]);
    });
  });

  it("creates the HNSW cosine index and the GIN full-text index on chunks", async () => {
    await withRunner(async (sql) => {
      await applyMigrations(sql);
      const idx = await sql.query<{ indexdef: string }>(`SELECT indexdef FROM pg_indexes WHERE tablename = 'chunks'`);
      const defs = idx.map((r) => r.indexdef).join("\n");
      expect(defs).toMatch(/USING hnsw \(embedding vector_cosine_ops\)/);
      expect(defs).toMatch(/USING gin \(tsv\)/);
    });
  });

  it("rolls a failing migration back entirely and records nothing for it", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "sot-mig-"));
    cpSync(MIGRATIONS_DIR, dir, { recursive: true });
    mkdirSync(path.join(dir, "29991231000000_broken"));
    writeFileSync(
      path.join(dir, "29991231000000_broken", "migration.sql"),
      `CREATE TABLE half_done (id int);\nINSERT INTO half_done VALUES (1);\nSELECT * FROM no_such_table;`,
    );
    await withRunner(async (sql) => {
      await expect(applyMigrations(sql, { dir })).rejects.toThrow(/29991231000000_broken failed: .*no_such_table/);
      const t = await sql.query<{ t: string | null }>(`SELECT to_regclass('half_done')::text AS t`);
      expect(t[0]!.t).toBeNull();
      const status = await migrationStatus(sql, dir);
      expect(status.pending).toEqual(["29991231000000_broken"]);
      expect(status.applied.length).toBe((await readMigrations()).length);
    });
  });

  it("notices a migration edited after it was applied", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "sot-mig-"));
    cpSync(MIGRATIONS_DIR, dir, { recursive: true });
    await withRunner(async (sql) => {
      await applyMigrations(sql, { dir });
      const first = (await readMigrations(dir))[0]!;
      writeFileSync(path.join(dir, first.name, "migration.sql"), first.sql + "\n-- edited\n");
      const lines: string[] = [];
      await applyMigrations(sql, { dir, log: (l) => lines.push(l) });
      expect((await migrationStatus(sql, dir)).modified).toEqual([first.name]);
      expect(lines.join("\n")).toMatch(/changed after it was applied/);
    });
  });
});

describe("the embedded database (PGlite)", () => {
  let db: Awaited<ReturnType<typeof usePglite>>;
  beforeAll(async () => {
    db = await usePglite(await openInMemory());
  });
  afterAll(() => db.close());

  it("is migrated on open and stores and searches vectors and text", async () => {
    const where = await makeIngestTarget(db, { slug: "t", name: "T" });
    const col = { id: where.collectionId };
    const doc = await makeDocument(db, { ...where, externalId: "a", title: "Pager" });
    const v = `[${Array.from({ length: 768 }, (_, i) => (i === 0 ? 1 : 0)).join(",")}]`;
    await db.prisma.$executeRaw`INSERT INTO chunks (document_id, collection_id, position, heading_path, text, token_count, content_hash, embedding)
      VALUES (${doc.id}::uuid, ${col.id}::uuid, 0, ARRAY['On-call'], 'Rotate the pager weekly', 5, 'c1', ${v}::vector)`;
    const near = await db.prisma.$queryRaw<Array<{ d: number }>>`SELECT embedding <=> ${v}::vector AS d FROM chunks`;
    expect(near[0]!.d).toBeCloseTo(0);
    const fts = await db.prisma.$queryRaw<Array<{ n: bigint }>>`SELECT count(*) AS n FROM chunks WHERE tsv @@ websearch_to_tsquery('english', 'rotating pagers')`;
    expect(Number(fts[0]!.n)).toBe(1);
  });
});
