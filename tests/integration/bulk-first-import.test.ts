// A large first import into a near-empty database writes its chunks without the HNSW index and builds it
// once at the end (lib/ingest/vector-index.ts). Searches of what was already there must keep answering,
// and answering right, the whole time: checked between the import's groups (when the index is surely
// gone) and by a reader running beside the import. Also: the index is back and valid afterwards, even
// when the import fails half-way, and a lost index is rebuilt by the next import.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseConfig, resetConfig } from "@/lib/config";
import { createImportJob, runImportJob } from "@/lib/ingest/import-jobs";
import { ingestDocuments } from "@/lib/ingest/pipeline";
import { dropVectorIndexConcurrently, vectorIndexState } from "@/lib/ingest/queries";
import { planBulkIndex } from "@/lib/ingest/vector-index";
import { Llm } from "@/lib/llm";
import { hybridSearch } from "@/lib/retrieve/search";
import { startFakeOllama, type FakeOllama } from "@/tests/fakes/ollama";
import { createTestDb, type TestDb } from "@/tests/helpers/db";

let db: TestDb;
let ollama: FakeOllama;
let llm: Llm;
/** The chunks stored before the import: each one's id, a word only it has, and its stored vector. */
let known: Array<{ id: string; word: string; vector: number[] }>;
let demoSource: string;

const onPostgres = () => db.kind === "postgres";

beforeAll(async () => {
  // The demo wiki (35 pages) counts as a large import here; the database holds 12 chunks before it.
  process.env.INGEST_BULK_INDEX_MIN_PAGES = "20";
  process.env.INGEST_BULK_INDEX_MAX_CHUNKS = "100";
  resetConfig();
  ollama = await startFakeOllama();
  llm = new Llm(parseConfig({ OLLAMA_HOST: ollama.url }));
  db = await createTestDb();
  const col = await db.prisma.collection.create({ data: { slug: "existing", name: "Existing" } });
  const src = await db.prisma.source.create({ data: { collectionId: col.id, kind: "upload", name: "Existing" } });
  const words = Array.from({ length: 12 }, (_, i) => `zephyrword${i}q`);
  await ingestDocuments(
    db,
    { sourceId: src.id, collectionId: col.id },
    words.map((w, i) => ({ externalId: `existing-${i}`, title: `Existing page ${i}`, markdown: `The ${w} procedure covers step ${i} of the rollout.` })),
    { llm },
  );
  const rows = await db.sql.query<{ id: string; text: string; v: string }>(`SELECT id::text, text, embedding::text AS v FROM chunks`);
  known = rows.map((r) => ({ id: r.id, word: words.find((w) => r.text.includes(w))!, vector: JSON.parse(r.v) as number[] }));
  expect(known).toHaveLength(12);
  const demoCol = await db.prisma.collection.create({ data: { slug: "demo", name: "Demo" } });
  demoSource = (await db.prisma.source.create({ data: { collectionId: demoCol.id, kind: "upload", name: "Demo wiki", config: { demo: true } } })).id;
});

afterAll(async () => {
  delete process.env.INGEST_BULK_INDEX_MIN_PAGES;
  delete process.env.INGEST_BULK_INDEX_MAX_CHUNKS;
  resetConfig();
  await ollama?.close();
  await db?.drop();
});

/** Searches for one known chunk by its word and its own vector: it must come first in both rankings. */
async function searchKnown(k: (typeof known)[number]) {
  const rows = await hybridSearch(db, { query: k.word, embedding: k.vector, collectionIds: null, perStage: 10, efSearch: 40, limit: 5 });
  return rows[0];
}

describe("bulk first import (HNSW built after the writes)", () => {
  it("is planned only for a large import into a small database", async () => {
    if (!onPostgres()) {
      expect(await planBulkIndex(db, 1000)).toMatchObject({ bulk: false });
      return;
    }
    expect(await planBulkIndex(db, 35)).toMatchObject({ bulk: true });
    // Too few pages for the setting.
    expect(await planBulkIndex(db, 19)).toMatchObject({ bulk: false, reason: expect.stringContaining("INGEST_BULK_INDEX_MIN_PAGES") });
    // More stored chunks (12) than the import has pages: rebuilding would cost more than inserting.
    process.env.INGEST_BULK_INDEX_MIN_PAGES = "5";
    resetConfig();
    expect(await planBulkIndex(db, 10)).toMatchObject({ bulk: false, reason: expect.stringContaining("chunks stored already") });
    process.env.INGEST_BULK_INDEX_MIN_PAGES = "20";
    resetConfig();
  });

  it("keeps searches answering correctly while the index is absent, and builds it at the end", async () => {
    const job = await createImportJob(db, { sourceId: demoSource, kind: "full" });
    const seen = { withoutIndex: 0, searches: 0, wrong: [] as string[] };
    const check = async () => {
      const state = onPostgres() ? await vectorIndexState(db.sql) : { exists: true };
      for (const k of known) {
        const top = await searchKnown(k);
        seen.searches++;
        if (top?.chunkId !== k.id || top.vectorRank !== 1 || top.textRank !== 1) seen.wrong.push(`${k.word}: got ${top?.chunkId} (vector ${top?.vectorRank}, text ${top?.textRank})`);
      }
      if (!state.exists) seen.withoutIndex++;
    };
    // A reader beside the import, as the ask path would be.
    let importing = true;
    const reader = (async () => {
      while (importing) await check();
    })();
    const view = await runImportJob(db, job.id, { llm, groupSize: 4, onProgress: check }).finally(() => {
      importing = false;
    });
    await reader;
    expect(view.status).toBe("succeeded");
    expect(view.failed).toBe(0);
    expect(seen.wrong).toEqual([]);
    expect(seen.searches).toBeGreaterThan(12 * 8);
    if (onPostgres()) {
      // Between the import's groups the index was gone: the searches above ran on the exact scan.
      expect(seen.withoutIndex).toBeGreaterThanOrEqual(8);
      expect(await vectorIndexState(db.sql)).toEqual({ exists: true, valid: true, building: false });
      // The index serves the new chunks: a demo chunk's own vector finds it first through the index.
      const [demo] = await db.sql.query<{ id: string; v: string }>(
        `SELECT c.id::text, c.embedding::text AS v FROM chunks c JOIN documents d ON d.id = c.document_id WHERE d.source_id = $1::uuid ORDER BY c.id LIMIT 1`,
        [demoSource],
      );
      const plan = await db.sql.transaction(async (tx) => {
        await tx.exec(`SET LOCAL enable_seqscan = off`);
        return tx.query<{ "QUERY PLAN": string }>(`EXPLAIN SELECT id FROM chunks ORDER BY embedding <=> $1::vector LIMIT 5`, [demo!.v]);
      });
      expect(plan.map((r) => r["QUERY PLAN"]).join("\n")).toContain("chunks_embedding_hnsw_idx");
      const rows = await hybridSearch(db, { query: "", embedding: JSON.parse(demo!.v) as number[], collectionIds: null, perStage: 10, efSearch: 40 });
      expect(rows[0]?.chunkId).toBe(demo!.id);
    }
    // Every demo page is searchable.
    const [{ pages }] = await db.sql.query<{ pages: number }>(`SELECT count(DISTINCT document_id)::int AS pages FROM chunks c JOIN documents d ON d.id = c.document_id WHERE d.source_id = $1::uuid`, [demoSource]);
    expect(pages).toBe(view.found);
  });

  it("builds the index again when a bulk import fails half-way, and the next import repairs a lost one", async () => {
    if (!onPostgres()) return;
    await db.sql.exec(`TRUNCATE chunks, documents CASCADE`);
    const job = await createImportJob(db, { sourceId: demoSource, kind: "full" });
    let groups = 0;
    await expect(
      runImportJob(db, job.id, {
        llm,
        groupSize: 4,
        onProgress: async () => {
          if (++groups === 2) throw new Error("worker lost");
        },
      }),
    ).rejects.toThrow("worker lost");
    expect(await vectorIndexState(db.sql)).toEqual({ exists: true, valid: true, building: false });

    // A process that died between the drop and the build leaves no index: the next import (here the
    // retry of the same job, which resumes it) builds it first, whatever its size.
    await dropVectorIndexConcurrently(db.sql);
    process.env.INGEST_BULK_INDEX_MIN_PAGES = "100000";
    resetConfig();
    try {
      const view = await runImportJob(db, job.id, { llm, groupSize: 8 });
      expect(view.status).toBe("succeeded");
    } finally {
      process.env.INGEST_BULK_INDEX_MIN_PAGES = "20";
      resetConfig();
    }
    expect(await vectorIndexState(db.sql)).toEqual({ exists: true, valid: true, building: false });
  });
});
