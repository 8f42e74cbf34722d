// /api/metrics' database-backed figures on real PostgreSQL: answers and tokens from the query log,
// latency quantiles, queue depth and failed jobs from pg-boss's table, the last evaluation score.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { renderMetrics } from "@/lib/metrics";
import { createTestDb, type TestDb } from "@/tests/helpers/db";
import { makeFinishedRun } from "@/tests/helpers/factories";

describe("metrics read from the database", () => {
  let db: TestDb;
  beforeAll(async () => {
    db = await createTestDb();
  });
  afterAll(async () => {
    await db?.drop();
  });

  it("reports answers, tokens, latency quantiles and the last completed evaluation score", async () => {
    for (const [i, total] of [1000, 2000, 3000, 4000].entries()) {
      await db.prisma.queryLog.create({
        data: { questionSha256: `h${i}`, model: "llama3.3:70b-instruct-q4_K_M", promptTokens: 100, completionTokens: 20, timings: { totalMs: total, firstTokenMs: total / 4 } },
      });
    }
    await db.prisma.queryLog.create({ data: { questionSha256: "nm", status: "no_model", timings: {} } });
    // Older than an hour: not in the figures.
    await db.prisma.queryLog.create({ data: { questionSha256: "old", model: "llama3.3:70b-instruct-q4_K_M", promptTokens: 9999, timings: { totalMs: 99999 }, createdAt: new Date(Date.now() - 2 * 3_600_000) } });
    const ds = await db.prisma.dataset.create({ data: { name: "golden", versions: { create: { version: 1 } } } });
    await makeFinishedRun(db, { datasetId: ds.id, avgHallucination: 3.5, avgFaithfulness: 0.7, finishedAt: new Date(Date.now() - 86_400_000) });
    await makeFinishedRun(db, { datasetId: ds.id, avgHallucination: 4.25, avgFaithfulness: 0.9, finishedAt: new Date() });
    await makeFinishedRun(db, { datasetId: ds.id, status: "running" });

    const text = await renderMetrics(db);
    expect(text).toContain('sot_ask_answers_last_hour{model="llama3.3:70b-instruct-q4_K_M",status="ok"} 4');
    expect(text).toContain('sot_ask_answers_last_hour{model="none",status="no_model"} 1');
    expect(text).toContain('sot_ask_tokens_last_hour{model="llama3.3:70b-instruct-q4_K_M",type="prompt"} 400');
    expect(text).toContain('sot_ask_tokens_last_hour{model="llama3.3:70b-instruct-q4_K_M",type="completion"} 80');
    expect(text).toContain('sot_ask_latency_seconds{quantile="0.5",stage="total"} 2.5');
    expect(text).toContain('sot_ask_latency_seconds{quantile="0.95",stage="total"} 3.85');
    expect(text).toContain('sot_ask_latency_seconds{quantile="0.5",stage="first_token"} 0.625');
    expect(text).toContain("sot_last_evaluation_hallucination_score 4.25");
    expect(text).toContain("sot_last_evaluation_faithfulness 0.9");
  });

  it("reports queue depth and failed jobs from the job table when the queue exists", async () => {
    // pg-boss's schema, as the queue creates it on first start; only the columns the metrics read matter.
    const hasQueue = await db.prisma.$queryRawUnsafe<Array<{ n: bigint }>>(`SELECT count(*) AS n FROM information_schema.tables WHERE table_schema = 'pgboss' AND table_name = 'job'`);
    if (Number(hasQueue[0]!.n) === 0) {
      await db.prisma.$executeRawUnsafe(`CREATE SCHEMA pgboss`);
      await db.prisma.$executeRawUnsafe(`CREATE TABLE pgboss.job (id uuid DEFAULT gen_random_uuid(), name text NOT NULL, state text NOT NULL)`);
    }
    await db.prisma.$executeRawUnsafe(
      `INSERT INTO pgboss.job (name, state) VALUES ('ingest','created'),('ingest','created'),('ingest','active'),('evaluate','failed'),('evaluate','completed')`,
    );
    const text = await renderMetrics(db);
    expect(text).toContain('sot_queue_depth{queue="ingest",state="created"} 2');
    expect(text).toContain('sot_queue_depth{queue="ingest",state="active"} 1');
    expect(text).toContain('sot_jobs_failed{queue="evaluate"} 1');
    expect(text).not.toContain('state="completed"');
  });
});
