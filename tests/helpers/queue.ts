// The real job queue (pg-boss) on a test database, installed as the process's queue: code under test that
// enqueues (an import, the embed backfill, the webhook flush) does so for real, and the test can read
// what was queued. No worker runs unless the test calls `queue.work(...)`.
import { setDb } from "@/lib/db/client";
import { JobQueue, setQueue } from "@/lib/jobs/queue";
import type { TestDb } from "@/tests/helpers/db";

export async function installQueue(db: TestDb): Promise<JobQueue> {
  setDb(db);
  const queue = await JobQueue.open(db);
  setQueue(queue);
  return queue;
}

/** Jobs queued under `name` (any state), oldest first, with their data. */
export async function queuedJobs(db: TestDb, name: string): Promise<Array<{ data: Record<string, unknown>; state: string }>> {
  return db.sql.query<{ data: Record<string, unknown>; state: string }>(
    `SELECT data, state::text AS state FROM pgboss.job WHERE name = $1 ORDER BY created_on`,
    [name],
  );
}
