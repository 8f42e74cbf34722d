// Rebuilding the HNSW vector index with the configured graph (VECTOR_INDEX_M / _EF_CONSTRUCTION), beside
// the old one (lib/ingest/vector-index.ts): searches answer right the whole time, the index ends with the
// settings' parameters under its own name, what a rebuild that died left behind is cleaned up or taken
// over, one rebuild runs at a time (its progress reported), and the operator's command reports the index
// against the settings and refuses bad settings, a second rebuild and the embedded database with a clear message.
import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseConfig, resetConfig } from "@/lib/config";
import { ingestDocuments } from "@/lib/ingest/pipeline";
import { createVectorIndexConcurrently, dropVectorIndexConcurrently, VECTOR_INDEX_REBUILD, vectorIndexState } from "@/lib/ingest/queries";
import { buildProgressLabel, ensureVectorIndex, rebuildVectorIndex, vectorIndexStatus } from "@/lib/ingest/vector-index";
import { Llm } from "@/lib/llm";
import { hybridSearch } from "@/lib/retrieve/search";
import { startFakeOllama, type FakeOllama } from "@/tests/fakes/ollama";
import { createEmptyPostgres, createTestDb, type TestDb } from "@/tests/helpers/db";

const run = promisify(execFile);
const ROOT = path.resolve(import.meta.dirname, "..", "..");
let db: TestDb;
let ollama: FakeOllama;
let known: Array<{ id: string; word: string; vector: number[] }>;

beforeAll(async () => {
  process.env.VECTOR_INDEX_M = "8";
  process.env.VECTOR_INDEX_EF_CONSTRUCTION = "32";
  resetConfig();
  ollama = await startFakeOllama();
  db = await createTestDb();
  const col = await db.prisma.collection.create({ data: { slug: "wiki", name: "Wiki" } });
  const src = await db.prisma.source.create({ data: { collectionId: col.id, kind: "upload", name: "Wiki" } });
  const words = Array.from({ length: 30 }, (_, i) => `quillword${i}z`);
  await ingestDocuments(
    db,
    { sourceId: src.id, collectionId: col.id },
    words.map((w, i) => ({ externalId: `page-${i}`, title: `Page ${i}`, markdown: `The ${w} checklist covers step ${i} of the release.` })),
    { llm: new Llm(parseConfig({ OLLAMA_HOST: ollama.url })) },
  );
  const rows = await db.sql.query<{ id: string; text: string; v: string }>(`SELECT id::text, text, embedding::text AS v FROM chunks`);
  known = rows.map((r) => ({ id: r.id, word: words.find((w) => r.text.includes(w))!, vector: JSON.parse(r.v) as number[] }));
  expect(known).toHaveLength(30);
});

afterAll(async () => {
  delete process.env.VECTOR_INDEX_M;
  delete process.env.VECTOR_INDEX_EF_CONSTRUCTION;
  resetConfig();
  await ollama?.close();
  await db?.drop();
});

/** Every known chunk, searched by its word and its own vector, comes first, and first in the vector ranking. */
async function allFoundFirst(): Promise<boolean> {
  for (const k of known) {
    const [top] = await hybridSearch(db, { query: k.word, embedding: k.vector, collectionIds: null, perStage: 10, efSearch: 40, limit: 3 });
    if (top?.chunkId !== k.id || top.vectorRank !== 1) return false;
  }
  return true;
}

/** `npm run vector-index` as an operator runs it: its exit code and everything it printed. */
async function cli(args: string[], env: Record<string, string>) {
  try {
    const r = await run(process.execPath, ["--import", "tsx", "scripts/vector-index.ts", ...args], {
      cwd: ROOT,
      env: { PATH: process.env.PATH, NODE_ENV: "production", AUTH_SECRET: "x".repeat(40), LOG_LEVEL: "error", ...env },
      timeout: 120_000,
    });
    return { code: 0, out: r.stdout + r.stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, out: e.stdout + e.stderr };
  }
}

async function waitFor(condition: () => boolean, ms: number) {
  const until = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > until) throw new Error(`not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function indexNames(): Promise<string[]> {
  const rows = await db.sql.query<{ name: string }>(`SELECT indexname AS name FROM pg_indexes WHERE tablename = 'chunks' AND indexdef LIKE '%USING hnsw%' ORDER BY 1`);
  return rows.map((r) => r.name);
}

describe.runIf(process.env.TEST_DATABASE_URL || process.env.REQUIRE_POSTGRES)("rebuilding the vector index (PostgreSQL)", () => {
  it("reports the migration's index (m 16, ef_construction 64) against the settings", async () => {
    const s = await vectorIndexStatus(db);
    expect(s.built).toMatchObject({ m: 16, efConstruction: 64, valid: true });
    expect(s.built!.bytes).toBeGreaterThan(0);
    expect(s.configured).toEqual({ m: 8, efConstruction: 32 });
    expect(s.building).toBeNull();
  });

  it("rebuilds it with the settings while searches keep answering right, under the same name", async () => {
    let rebuilding = true;
    let searchesDuring = 0;
    const reader = (async () => {
      let allRight = true;
      while (rebuilding) {
        allRight &&= await allFoundFirst();
        searchesDuring++;
      }
      return allRight;
    })();
    const done = await rebuildVectorIndex(db, { progressEveryMs: 5 });
    rebuilding = false;
    expect(await reader).toBe(true);
    expect(searchesDuring).toBeGreaterThan(0);
    expect(done).toMatchObject({ m: 8, efConstruction: 32 });
    expect((await vectorIndexStatus(db)).built).toMatchObject({ m: 8, efConstruction: 32, valid: true });
    expect(await indexNames()).toEqual(["chunks_embedding_hnsw_idx"]);
    expect(await allFoundFirst()).toBe(true);
  });

  it("drops what a rebuild that died left behind, and builds anew", async () => {
    await createVectorIndexConcurrently(db.sql, { m: 4, efConstruction: 16 }, VECTOR_INDEX_REBUILD);
    expect(await indexNames()).toEqual(["chunks_embedding_hnsw_idx", VECTOR_INDEX_REBUILD]);
    await rebuildVectorIndex(db);
    expect(await indexNames()).toEqual(["chunks_embedding_hnsw_idx"]);
    expect((await vectorIndexStatus(db)).built).toMatchObject({ m: 8, efConstruction: 32 });
  });

  it("takes over a finished rebuild whose old index was already dropped, instead of building a third", async () => {
    await createVectorIndexConcurrently(db.sql, { m: 4, efConstruction: 16 }, VECTOR_INDEX_REBUILD);
    await dropVectorIndexConcurrently(db.sql);
    expect((await vectorIndexState(db.sql)).exists).toBe(false);
    expect(await ensureVectorIndex(db)).toBe("present");
    expect(await indexNames()).toEqual(["chunks_embedding_hnsw_idx"]);
    expect((await vectorIndexStatus(db)).built).toMatchObject({ m: 4, efConstruction: 16, valid: true });
    expect(await allFoundFirst()).toBe(true);
  });

  it("builds a missing index with the settings", async () => {
    await dropVectorIndexConcurrently(db.sql);
    expect(await ensureVectorIndex(db)).toBe("built");
    expect((await vectorIndexStatus(db)).built).toMatchObject({ m: 8, efConstruction: 32, valid: true });
  });

  it("runs one rebuild at a time: while one waits, its progress is reported, a second one refuses, searches answer", async () => {
    // A transaction that could write to chunks holds the rebuild in PostgreSQL's first wait (CREATE INDEX
    // CONCURRENTLY waits for such writers), long enough to see it from outside.
    const writer = new pg.Client({ connectionString: db.url! });
    await writer.connect();
    await writer.query(`BEGIN; LOCK TABLE chunks IN ROW EXCLUSIVE MODE`);
    const progress: string[] = [];
    const first = rebuildVectorIndex(db, { progressEveryMs: 20, onProgress: (p) => progress.push(buildProgressLabel(p)) });
    const firstSettled = first.then(() => "done", (err: Error) => err.message);
    try {
      await waitFor(() => progress.includes("waiting for writers before build"), 10_000);
      expect((await vectorIndexStatus(db)).building).toMatchObject({ phase: "waiting for writers before build" });
      await expect(rebuildVectorIndex(db)).rejects.toThrow("Another rebuild of the vector index is running: wait for it to finish, then try again.");
      const cliRun = await cli(["--rebuild"], { DATABASE_URL: db.url!, VECTOR_INDEX_M: "8", VECTOR_INDEX_EF_CONSTRUCTION: "32" });
      expect(cliRun.code).toBe(1);
      expect(cliRun.out).toContain("building now: waiting for writers before build");
      expect(cliRun.out).toContain("Another rebuild of the vector index is running");
      expect(await allFoundFirst()).toBe(true);
    } finally {
      await writer.query(`COMMIT`);
      await writer.end();
    }
    expect(await firstSettled).toBe("done");
    expect(await indexNames()).toEqual(["chunks_embedding_hnsw_idx"]);
    expect((await vectorIndexStatus(db)).built).toMatchObject({ m: 8, efConstruction: 32, valid: true });
  }, 120_000);

  it("two rebuilds started in the same instant: one builds, the other refuses, and the index is whole", async () => {
    const outcomes = await Promise.allSettled([rebuildVectorIndex(db), rebuildVectorIndex(db)]);
    const refused = outcomes.filter((o) => o.status === "rejected");
    expect(outcomes.filter((o) => o.status === "fulfilled").length).toBeGreaterThanOrEqual(1);
    for (const r of refused) expect(String((r as PromiseRejectedResult).reason)).toContain("Another rebuild of the vector index is running");
    expect(await indexNames()).toEqual(["chunks_embedding_hnsw_idx"]);
    expect((await vectorIndexStatus(db)).built).toMatchObject({ m: 8, efConstruction: 32, valid: true });
    expect(await allFoundFirst()).toBe(true);
  });

  describe("npm run vector-index", () => {

    it("says how the index differs from the settings, and --rebuild applies them", async () => {
      const settings = { DATABASE_URL: db.url!, VECTOR_INDEX_M: "6", VECTOR_INDEX_EF_CONSTRUCTION: "24" };
      const before = await cli([], settings);
      expect(before.code).toBe(0);
      expect(before.out).toContain("vector index: HNSW, m 8, ef_construction 32");
      expect(before.out).toContain("settings:     m 6, ef_construction 24 — differ from the index: run with --rebuild to apply them");
      const rebuilt = await cli(["--rebuild"], settings);
      expect(rebuilt.code).toBe(0);
      expect(rebuilt.out).toMatch(/rebuilt in \d+ s: m 6, ef_construction 24/);
      const after = await cli([], settings);
      expect(after.out).toContain("vector index: HNSW, m 6, ef_construction 24");
      expect(after.out).not.toContain("differ");
      expect((await vectorIndexStatus(db)).built).toMatchObject({ m: 6, efConstruction: 24 });
    }, 120_000);

    it("refuses an ef_construction below twice m, naming the setting, and changes nothing", async () => {
      const r = await cli(["--rebuild"], { DATABASE_URL: db.url!, VECTOR_INDEX_M: "32", VECTOR_INDEX_EF_CONSTRUCTION: "40" });
      expect(r.code).not.toBe(0);
      expect(r.out).toMatch(/VECTOR_INDEX_EF_CONSTRUCTION.*at least twice VECTOR_INDEX_M \(64\)/);
      expect((await vectorIndexStatus(db)).built).toMatchObject({ m: 6, efConstruction: 24 });
    }, 60_000);

    it("tells to migrate first on a database without the chunks table", async () => {
      const empty = (await createEmptyPostgres())!;
      try {
        const r = await cli(["--rebuild"], { DATABASE_URL: empty.url });
        expect(r.code).toBe(1);
        expect(r.out).toContain("This database has no chunks table yet: run npm run db:migrate (or start the app once) first.");
      } finally {
        await empty.drop();
      }
    }, 60_000);

    it("refuses --rebuild on the embedded database with a clear message", async () => {
      const dataDir = await mkdtemp(path.join(tmpdir(), "sot-vector-index-"));
      try {
        const r = await cli(["--rebuild"], { DATA_DIR: dataDir, DEMO_WIKI: "false" });
        expect(r.code).toBe(1);
        expect(r.out).toContain("rebuilding the vector index needs PostgreSQL (DATABASE_URL)");
      } finally {
        await rm(dataDir, { recursive: true, force: true });
      }
    }, 120_000);
  });
});
