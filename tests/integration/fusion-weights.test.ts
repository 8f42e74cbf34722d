// Weighted fusion on the database: the SQL statement fuses as the tuner's in-memory copy does, each
// collection's saved weights apply to its own chunks, retrieve() follows a save at once, and learning from
// a dataset finds the better half when the vector half is misleading.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { accessContextFor, principalOfUser, type AccessContext } from "@/lib/access/context";
import { resetConfig } from "@/lib/config";
import { createDataset } from "@/lib/evaluate/datasets";
import { resetLlm } from "@/lib/llm";
import { retrieve } from "@/lib/retrieve";
import { fusedDocuments, type RankedQuestion } from "@/lib/retrieve/fusion-tuning";
import { learnCollectionFusion, listCollectionFusion, saveCollectionFusionSettings } from "@/lib/retrieve/fusion-settings";
import { hybridSearch, RRF_K, textQuery } from "@/lib/retrieve/search";
import { loadChunks } from "@/scripts/bench/lib";
import { fakeEmbedding, startFakeOllama, type FakeOllama } from "../fakes/ollama";
import { createTestDb, type TestDb } from "../helpers/db";

const TOPICS = ["payroll", "laptops", "holidays", "expenses", "security", "onboarding", "parking", "travel", "pensions", "printing", "coffee", "badges"];
const text = (t: string) => `The ${t} policy. Everything about ${t}: who decides on ${t} and how ${t} requests are handled.`;

describe("weighted fusion", () => {
  let db: TestDb;
  let ollama: FakeOllama;
  let ctx: AccessContext;
  let misled: string;
  let honest: string;
  const saved = process.env.OLLAMA_HOST;

  beforeAll(async () => {
    db = await createTestDb();
    ollama = await startFakeOllama();
    process.env.OLLAMA_HOST = ollama.url;
    resetConfig();
    resetLlm();
    // "misled": every page carries the embedding of the NEXT topic's text, so vectors point at the wrong
    // page; "honest": embeddings of its own text.
    misled = (
      await loadChunks(
        db,
        TOPICS.map((t, i) => ({ externalId: `m-${t}`, title: `M ${t}`, text: text(t), embedding: fakeEmbedding(text(TOPICS[(i + 1) % TOPICS.length]!)) })),
        { collectionSlug: "misled" },
      )
    ).collectionId;
    honest = (await loadChunks(db, TOPICS.map((t) => ({ externalId: `h-${t}`, title: `H ${t}`, text: text(t), embedding: fakeEmbedding(text(t)) })), { collectionSlug: "honest" })).collectionId;
    const admin = await db.prisma.user.create({ data: { email: "admin@example.com", role: "admin" } });
    ctx = await accessContextFor(db, principalOfUser(admin)!);
  });
  afterAll(async () => {
    process.env.OLLAMA_HOST = saved;
    if (saved === undefined) delete process.env.OLLAMA_HOST;
    resetConfig();
    resetLlm();
    await ollama?.close();
    await db?.drop();
  });

  const search = async (question: string, collectionIds: string[], weights?: { vector: number; text: number } | "per-collection") =>
    hybridSearch(db, { query: question, embedding: fakeEmbedding(`search_query: ${question}`), text: await textQuery(db, question), collectionIds, perStage: 20, efSearch: 40, weights });

  it("fuses in SQL exactly as the tuner does in memory, for equal and uneven weights", async () => {
    for (const weights of [{ vector: 1, text: 1 }, { vector: 0.25, text: 1 }, { vector: 1, text: 0 }]) {
      const rows = await search("who decides on laptops", [misled], weights);
      const q: RankedQuestion = { rows, relevant: () => false, relevantCount: 1 };
      const sqlOrder = [...new Set(rows.map((r) => r.documentId))];
      expect(fusedDocuments(q, { ...weights, candidates: 20 }).slice(0, sqlOrder.length)).toEqual(sqlOrder);
      for (const r of rows) {
        const expected = (r.vectorRank ? weights.vector / (RRF_K + r.vectorRank) : 0) + (r.textRank ? weights.text / (RRF_K + r.textRank) : 0);
        expect(r.fusedScore).toBeCloseTo(expected, 12);
      }
    }
  });

  it("weighs each chunk by its own collection's saved weights when the searched collections differ", async () => {
    await saveCollectionFusionSettings(ctx, { collectionId: misled, vectorWeight: 0, textWeight: 1, candidates: null });
    const rows = await search("parking", [misled, honest], "per-collection");
    expect(rows.length).toBeGreaterThan(2);
    for (const r of rows) {
      const w = r.collectionId === misled ? { vector: 0, text: 1 } : { vector: 1, text: 1 };
      const expected = (r.vectorRank ? w.vector / (RRF_K + r.vectorRank) : 0) + (r.textRank ? w.text / (RRF_K + r.textRank) : 0);
      expect(r.fusedScore).toBeCloseTo(expected, 12);
    }
    await saveCollectionFusionSettings(ctx, { collectionId: misled, vectorWeight: 1, textWeight: 1, candidates: null });
  });

  it("retrieve() follows a saved setting at once in this process", async () => {
    const top = async () => (await retrieve("who decides on holidays", { collectionIds: [misled], rerank: false, db })).candidates[0]!.title;
    // Equal weights: the misleading vector half wins a tie at the top for another page.
    const before = await top();
    await saveCollectionFusionSettings(ctx, { collectionId: misled, vectorWeight: 0, textWeight: 1, candidates: 30 });
    expect(await top()).toBe("M holidays");
    expect(before).not.toBe("M holidays");
    expect((await listCollectionFusion(ctx)).find((c) => c.id === misled)).toMatchObject({ vectorWeight: 0, textWeight: 1, candidates: 30 });
    await saveCollectionFusionSettings(ctx, { collectionId: misled, vectorWeight: 1, textWeight: 1, candidates: null });
  });

  it("learns from a dataset to lean on full text where the vectors mislead, and leaves the honest collection near equal", async () => {
    const ds = await createDataset(ctx, {
      name: "policies",
      items: TOPICS.map((t) => ({ question: `who decides on ${t}`, expectedSources: [`m-${t}`, `h-${t}`] })),
    } as Parameters<typeof createDataset>[1]);
    const learned = await learnCollectionFusion(ctx, { collectionId: misled, datasetId: ds.id });
    expect(learned.questions).toBe(TOPICS.length);
    expect(learned.best.ndcg).toBeGreaterThan(learned.current.ndcg);
    expect(learned.best.vector).toBeLessThan(learned.best.text);
    expect(learned.heldOut.learned).toBeGreaterThanOrEqual(learned.heldOut.current);
    const fair = await learnCollectionFusion(ctx, { collectionId: honest, datasetId: ds.id });
    expect(fair.best.ndcg).toBeGreaterThanOrEqual(fair.current.ndcg);
    expect(fair.current.ndcg).toBeGreaterThan(0.9);
  });

  it("refuses bad input with a clear error and changes nothing", async () => {
    const empty = await createDataset(ctx, { name: "no sources", items: [{ question: "anything" }] } as Parameters<typeof createDataset>[1]);
    await expect(learnCollectionFusion(ctx, { collectionId: misled, datasetId: empty.id })).rejects.toThrow(/no item with expected sources/);
    await expect(
      saveCollectionFusionSettings(ctx, { collectionId: "00000000-0000-4000-8000-000000000000", vectorWeight: 1, textWeight: 1, candidates: null }),
    ).rejects.toThrow(/not found|Collection/i);
    // The database refuses both weights at zero even past the service's check.
    await expect(db.sql.query(`UPDATE collections SET fusion_vector_weight = 0, fusion_text_weight = 0 WHERE id = $1`, [misled])).rejects.toThrow(/not_both_zero/);
    expect((await listCollectionFusion(ctx)).find((c) => c.id === misled)).toMatchObject({ vectorWeight: 1, textWeight: 1 });
  });
});
