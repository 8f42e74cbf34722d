// A job enqueued by the process that works on its kind starts at once, not at the worker's next poll: the
// workers poll every JOB_POLL_SECONDS (slowly, because every poll costs the database CPU), so without the
// wake-up each of these jobs would wait a second on average.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { defineJob, JOB_POLL_SECONDS, JobQueue } from "@/lib/jobs/queue";
import { createTestDb, type TestDb } from "@/tests/helpers/db";
import { until } from "@/tests/helpers/until";

describe("job queue wake-up", () => {
  let db: TestDb;
  beforeAll(async () => {
    db = await createTestDb();
  });
  afterAll(async () => {
    await db?.drop();
  });

  it("runs jobs enqueued in this process without waiting for the polling interval", async () => {
    const queue = await JobQueue.open(db);
    try {
      const done: number[] = [];
      const job = defineJob<{ n: number }>({ name: "test.wake", handler: async ({ n }) => void done.push(n) });
      await queue.work([job]);
      await new Promise((r) => setTimeout(r, 300)); // the worker's first fetch has come back empty: it now waits for its next poll
      const jobs = 8;
      const started = performance.now();
      for (let n = 0; n < jobs; n++) {
        await queue.enqueue(job, { n });
        await until(`job ${n} to run`, async () => done.includes(n), 10_000);
      }
      const perJobMs = (performance.now() - started) / jobs;
      // Polling alone would take JOB_POLL_SECONDS / 2 per job on average (8 jobs under half of that: p < 1 %).
      expect(perJobMs).toBeLessThan((JOB_POLL_SECONDS * 1000) / 4);
      expect(done).toEqual([...Array(jobs).keys()]);
    } finally {
      await queue.stop();
    }
  });
});
