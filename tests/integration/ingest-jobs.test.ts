// The ingest job kinds on the real queue (pg-boss on this test database: PostgreSQL, or PGlite when
// TEST_DATABASE_URL is unset): an import started by startReconcile runs to the end in a worker, and a
// backfill request embeds what was stored without vectors.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { getConfig, resetConfig } from "@/lib/config";
import { setDb } from "@/lib/db/client";
import { importJobView, requestBackfill, startReconcile } from "@/lib/ingest";
import { ingestJobs } from "@/lib/ingest/jobs";
import { JobQueue, setQueue } from "@/lib/jobs/queue";
import { resetLlm } from "@/lib/llm";
import { startFakeOllama, type FakeOllama } from "@/tests/fakes/ollama";
import { createTestDb, type TestDb } from "@/tests/helpers/db";
import { makeCollection, makeSource } from "@/tests/helpers/factories";
import { until } from "@/tests/helpers/until";

let db: TestDb;
let queue: JobQueue;
let ollama: FakeOllama;

beforeAll(async () => {
  ollama = await startFakeOllama();
  process.env.OLLAMA_HOST = ollama.url;
  resetConfig();
  resetLlm();
  db = await createTestDb();
  setDb(db);
  queue = await JobQueue.open(db);
  setQueue(queue);
  await queue.work(ingestJobs);
});
afterAll(async () => {
  await queue?.stop();
  await ollama?.close();
  await db?.drop();
});

describe("ingest jobs on the queue", () => {
  it("runs an import started by startReconcile in a worker, to the end", async () => {
    const col = await makeCollection(db, { slug: "demo-q", name: "Demo" });
    const src = await makeSource(db, { collectionId: col.id, kind: "upload", name: "Demo wiki", config: { demo: true } });
    const { kind, id } = await startReconcile(db, { sourceId: src.id, trigger: "manual" });
    expect(kind).toBe("import_job");
    const job = await until("the import job", async () => {
      const j = await importJobView(db, id);
      return j.status === "succeeded" || j.status === "failed" ? j : null;
    });
    expect(job).toMatchObject({ status: "succeeded", failed: 0, trigger: "manual" });
    expect(job.found).toBeGreaterThanOrEqual(30);
    const [{ n }] = await db.prisma.$queryRaw<Array<{ n: number }>>`
      SELECT count(*)::int AS n FROM chunks WHERE collection_id = ${col.id}::uuid AND embedding IS NOT NULL`;
    expect(n).toBeGreaterThan(30);
  });

  it("the backfill job embeds chunks stored without vectors", async () => {
    const [{ total }] = await db.prisma.$queryRaw<Array<{ total: number }>>`SELECT count(*)::int AS total FROM chunks`;
    expect(total).toBeGreaterThan(30);
    await db.prisma.$executeRaw`UPDATE chunks SET embedding = NULL, embedding_model = NULL`;
    const callsBefore = ollama.embedBatches.length;
    await requestBackfill();
    const missing = async () => (await db.prisma.$queryRaw<Array<{ n: number }>>`SELECT count(*)::int AS n FROM chunks WHERE embedding IS NULL`)[0].n;
    await until("the backfill", async () => (await missing()) === 0);
    // Every chunk has its vector again, from the configured model, and it took embedding calls to get them.
    expect(await missing()).toBe(0);
    const models = await db.prisma.$queryRaw<Array<{ model: string | null; n: number }>>`
      SELECT embedding_model AS model, count(*)::int AS n FROM chunks GROUP BY 1`;
    expect(models).toEqual([{ model: getConfig().OLLAMA_EMBED_MODEL, n: total }]);
    expect(ollama.embedBatches.length).toBeGreaterThan(callsBefore);
  });
});
