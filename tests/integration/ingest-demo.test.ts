import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseConfig } from "@/lib/config";
import { backfillEmbeddings } from "@/lib/ingest/backfill";
import { seedDemoWiki } from "@/lib/ingest/demo";
import { Llm } from "@/lib/llm";
import { startFakeOllama, type FakeOllama } from "@/tests/fakes/ollama";
import { createTestDb, type TestDb } from "@/tests/helpers/db";
import { installQueue, queuedJobs } from "@/tests/helpers/queue";
import type { JobQueue } from "@/lib/jobs/queue";

let db: TestDb;
let queue: JobQueue;
let ollama: FakeOllama;

beforeAll(async () => {
  db = await createTestDb();
  queue = await installQueue(db); // the seed queues the embed backfill for real; no worker runs it here
  ollama = await startFakeOllama();
});
afterAll(async () => {
  await queue?.stop();
  await ollama?.close();
  await db?.drop();
});

const search = (q: string) =>
  db.prisma.$queryRaw<Array<{ title: string }>>`
    SELECT DISTINCT d.title FROM chunks c JOIN documents d ON d.id = c.document_id
    WHERE c.tsv @@ websearch_to_tsquery('english', ${q}) ORDER BY 1`;

describe("seedDemoWiki", () => {
  it("imports the demo wiki without Ollama: searchable by full text at once, embedded later", async () => {
    const down = new Llm(parseConfig({ OLLAMA_HOST: "http://127.0.0.1:9", OLLAMA_HEALTH_TIMEOUT_MS: "300" }));
    const r = await seedDemoWiki(db, { llm: down });
    expect(r.pages).toBeGreaterThanOrEqual(30);
    expect(r.jobId).not.toBeNull();
    const collection = await db.prisma.collection.findUniqueOrThrow({ where: { slug: "demo" } });
    expect(collection.name).toBe("Demo");
    expect(await db.prisma.document.count({ where: { collectionId: collection.id, deletedAt: null } })).toBe(r.pages);
    const chunks = await db.prisma.chunk.count({ where: { collectionId: collection.id } });
    expect(chunks).toBeGreaterThan(r.pages);
    expect(await db.prisma.$queryRaw<Array<{ n: number }>>`SELECT count(*)::int AS n FROM chunks WHERE embedding IS NOT NULL`).toEqual([{ n: 0 }]);
    // Rare exact terms only full-text search finds.
    expect(await search("KST-4417")).toEqual([{ title: "Access requests" }, { title: "Known issues and error codes" }]);
    expect((await search("quillctl")).length).toBeGreaterThan(5);
    expect(await search("ERR_FLUXGATE_503")).toEqual(expect.arrayContaining([{ title: "Setting up your development environment" }]));
    const doc = await db.prisma.document.findFirstOrThrow({ where: { externalId: "oncall-rotation.md" } });
    expect(doc).toMatchObject({ title: "On-call rotation", breadcrumb: ["Kestrel wiki", "On-call"] });

    // The seed asked for the backfill (it runs when a worker takes it; here the test runs it).
    expect((await queuedJobs(db, "ingest.embed-backfill")).length).toBeGreaterThanOrEqual(1);
    // Ollama comes back: the backfill embeds everything.
    const up = new Llm(parseConfig({ OLLAMA_HOST: ollama.url }));
    const b = await backfillEmbeddings(db, { llm: up, batchSize: 64 });
    expect(b).toMatchObject({ remaining: 0, embedded: chunks });
  });

  it("is idempotent: a second start imports nothing and makes no embedding call", async () => {
    const up = new Llm(parseConfig({ OLLAMA_HOST: ollama.url }));
    const calls = ollama.embedBatches.length;
    const docs = await db.prisma.document.count();
    const r = await seedDemoWiki(db, { llm: up });
    expect(r.jobId).toBeNull();
    expect(await db.prisma.document.count()).toBe(docs);
    expect(await db.prisma.collection.count({ where: { slug: "demo" } })).toBe(1);
    expect(ollama.embedBatches.length).toBe(calls);
  });
});
