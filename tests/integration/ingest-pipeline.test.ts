import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseConfig } from "@/lib/config";

import { backfillEmbeddings, servingEmbeddingModel } from "@/lib/ingest/backfill";
import { ingestDocuments, removeMissing, softDeleteDocuments, type SourceDocument } from "@/lib/ingest/pipeline";
import { Llm } from "@/lib/llm";
import { DEFAULT_FAKE_MODELS, startFakeOllama, type FakeOllama } from "@/tests/fakes/ollama";
import { createTestDb, type TestDb } from "@/tests/helpers/db";
import { makeIngestTarget } from "@/tests/helpers/factories";

let db: TestDb;
let ollama: FakeOllama;
let llm: Llm;
let target: { sourceId: string; collectionId: string };

const llmFor = (host: string, model = "nomic-embed-text") =>
  new Llm(parseConfig({ OLLAMA_HOST: host, OLLAMA_EMBED_MODEL: model, OLLAMA_TIMEOUT_MS: "60000" }));

const para = (topic: string, n: number) =>
  Array.from({ length: n }, (_, i) => `The ${topic} procedure step ${i} says operators check gauges and record readings.`).join(" ");

const longDoc: SourceDocument = {
  externalId: "runbook",
  title: "Runbook",
  markdown: `# Runbook\n\n## Pager\n\n${para("pager", 30)}\n\n## Backups\n\n${para("backup", 30)}\n\n## Rollback\n\n${para("rollback", 30)}`,
  url: "https://wiki.example/runbook",
  breadcrumb: ["Ops"],
};

async function chunkRows(externalId: string) {
  return db.prisma.$queryRaw<Array<{ id: string; position: number; text: string; model: string | null; has_vec: boolean; hash: string }>>`
    SELECT c.id::text AS id, c.position, c.text, c.embedding_model AS model, c.embedding IS NOT NULL AS has_vec, c.content_hash AS hash
    FROM chunks c JOIN documents d ON d.id = c.document_id WHERE d.external_id = ${externalId} ORDER BY c.position`;
}

beforeAll(async () => {
  db = await createTestDb();
  ollama = await startFakeOllama({ models: [...DEFAULT_FAKE_MODELS, "nomic-embed-text-v2:latest"] });
  llm = llmFor(ollama.url);
  target = await makeIngestTarget(db, { slug: "wiki", name: "Wiki", sourceName: "Uploads" });
});
afterAll(async () => {
  await ollama?.close();
  await db?.drop();
});

describe("ingest pipeline on PostgreSQL", () => {
  it("chunks, embeds in batches with the document prefix, and stores vectors with their model", async () => {
    const docs: SourceDocument[] = [
      longDoc,
      { externalId: "vpn", title: "VPN", markdown: "Connect with `wg-quick up corp`." },
      { externalId: "empty", title: "Empty", markdown: "" },
    ];
    const before = ollama.calls.length;
    const r = await ingestDocuments(db, target, docs, { llm, batchSize: 2 });
    expect(r.outcomes.map((o) => o.status)).toEqual(["created", "created", "created"]);
    const chunks = await chunkRows("runbook");
    expect(chunks.length).toBeGreaterThanOrEqual(3);
    expect(chunks.every((c) => c.has_vec && c.model === "nomic-embed-text")).toBe(true);
    expect(r.embeddedChunks).toBe(chunks.length + 1);
    expect(r.batchSizes.every((b) => b <= 2)).toBe(true);
    const inputs = ollama.calls.slice(before).filter((c) => c.path === "/api/embed").flatMap((c) => c.body.input as string[]);
    expect(inputs.every((t) => t.startsWith("search_document: "))).toBe(true);
    expect(inputs.some((t) => t.startsWith("search_document: Runbook › Runbook › Pager"))).toBe(true);
    const doc = await db.prisma.document.findFirstOrThrow({ where: { externalId: "runbook" } });
    expect(doc).toMatchObject({ title: "Runbook", url: "https://wiki.example/runbook", breadcrumb: ["Ops"], deletedAt: null });
  });

  it("an unchanged re-run makes no embedding call and no write", async () => {
    const calls = ollama.embedBatches.length;
    const before = await chunkRows("runbook");
    const r = await ingestDocuments(db, target, [longDoc], { llm });
    expect(r.outcomes[0].status).toBe("unchanged");
    expect(r.embedCalls).toBe(0);
    expect(ollama.embedBatches.length).toBe(calls);
    expect(await chunkRows("runbook")).toEqual(before);
  });

  it("a one-paragraph edit re-embeds only the chunk it touched", async () => {
    const before = await chunkRows("runbook");
    const edited = { ...longDoc, markdown: longDoc.markdown.replace("backup procedure step 3 says", "backup procedure step 3 now says") };
    const r = await ingestDocuments(db, target, [edited], { llm });
    expect(r.outcomes[0].status).toBe("updated");
    expect(r.embeddedChunks).toBe(1);
    expect(r.reusedChunks).toBe(before.length - 1);
    const after = await chunkRows("runbook");
    expect(after.filter((c) => !before.some((b) => b.hash === c.hash))).toHaveLength(1);
    expect(after.every((c) => c.has_vec)).toBe(true);
    // The untouched chunks were not rewritten (same rows), only the edited one is new.
    expect(after.filter((c) => before.some((b) => b.id === c.id))).toHaveLength(before.length - 1);
    expect(after.map((c) => c.position)).toEqual(before.map((c) => c.position));
  });

  it("soft delete removes chunks but keeps the row; a later sync undeletes; removeMissing prunes", async () => {
    expect(await softDeleteDocuments(db, target.sourceId, ["vpn"])).toBe(1);
    expect(await chunkRows("vpn")).toHaveLength(0);
    const row = await db.prisma.document.findFirstOrThrow({ where: { externalId: "vpn" } });
    expect(row.deletedAt).not.toBeNull();
    const r = await ingestDocuments(db, target, [{ externalId: "vpn", title: "VPN", markdown: "Connect with `wg-quick up corp`." }], { llm });
    expect(r.outcomes[0].status).toBe("updated");
    expect(r.embedCalls).toBe(1); // its chunks (and vectors) left with the delete, so it is embedded again
    expect((await chunkRows("vpn")).length).toBe(1);
    expect(await removeMissing(db, target.sourceId, ["runbook", "vpn"])).toBe(1); // "empty"
    expect((await db.prisma.document.findFirstOrThrow({ where: { externalId: "empty" } })).deletedAt).not.toBeNull();
  });

  it("without Ollama chunks are stored unembedded (full-text searchable), and the backfill embeds them later", async () => {
    const down = llmFor("http://127.0.0.1:9");
    const doc: SourceDocument = { externalId: "offline", title: "Offline", markdown: "The ZX-4471 flux capacitor error means restart the gateway." };
    const r = await ingestDocuments(db, target, [doc], { llm: down });
    expect(r.outcomes[0].status).toBe("created");
    expect(r.pendingChunks).toBe(1);
    expect(r.embedError).toMatch(/not reachable/);
    expect((await chunkRows("offline"))[0]).toMatchObject({ has_vec: false, model: null });
    const fts = await db.prisma.$queryRaw<Array<{ n: number }>>`
      SELECT count(*)::int AS n FROM chunks WHERE tsv @@ plainto_tsquery('english', 'flux capacitor')`;
    expect(fts[0].n).toBe(1);

    const stillDown = await backfillEmbeddings(db, { llm: down });
    expect(stillDown.error).toMatch(/not reachable/);
    expect(stillDown.remaining).toBe(1);
    const up = await backfillEmbeddings(db, { llm });
    expect(up).toMatchObject({ embedded: 1, remaining: 0 });
    expect((await chunkRows("offline"))[0]).toMatchObject({ has_vec: true, model: "nomic-embed-text" });
  });

  it("a new embedding model re-embeds in the background: old vectors serve until the swap", async () => {
    const total = (await db.prisma.chunk.count()) as number;
    const next = llmFor(ollama.url, "nomic-embed-text-v2");
    const partial = await backfillEmbeddings(db, { llm: next, batchSize: 2, limit: 2 });
    expect(partial.staged).toBe(2);
    expect(partial.swapped).toBe(0);
    const mid = await db.prisma.$queryRaw<Array<{ model: string; n: number }>>`
      SELECT embedding_model AS model, count(*)::int AS n FROM chunks WHERE embedding IS NOT NULL GROUP BY 1`;
    expect(mid).toEqual([{ model: "nomic-embed-text", n: total }]);
    expect(await servingEmbeddingModel(db)).toBe("nomic-embed-text");
    const done = await backfillEmbeddings(db, { llm: next, batchSize: 50 });
    expect(done.swapped).toBe(total);
    expect(done.remaining).toBe(0);
    const after = await db.prisma.$queryRaw<Array<{ model: string; n: number }>>`
      SELECT embedding_model AS model, count(*)::int AS n FROM chunks WHERE embedding IS NOT NULL GROUP BY 1`;
    expect(after).toEqual([{ model: "nomic-embed-text-v2", n: total }]);
    expect(await servingEmbeddingModel(db)).toBe("nomic-embed-text-v2");
    expect(await db.prisma.$queryRaw<Array<{ n: number }>>`SELECT count(*)::int AS n FROM chunk_embeddings_staged`).toEqual([{ n: 0 }]);
  });
});
