// The tracked-run helper on real run tables (backups, schedule runs), on PostgreSQL and on PGlite: a run
// is claimed once, its heartbeat and progress land while it runs, a run whose worker stopped reporting is
// failed, the first end wins, and a cancel ends it and tells its worker at the next heartbeat.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { usePglite, type Db } from "@/lib/db/client";
import { openInMemory } from "@/lib/db/embedded";
import { trackedRuns } from "@/lib/jobs/tracked-run";
import { createTestDb, type TestDb } from "@/tests/helpers/db";

let pg: TestDb;
let lite: Db;
beforeAll(async () => {
  pg = await createTestDb({ poolSize: 4 });
  lite = await usePglite(await openInMemory());
}, 120_000);
afterAll(async () => {
  await pg?.drop();
  await lite?.close();
});

const backups = trackedRuns("backup");

async function newBackup(db: Db): Promise<string> {
  const [row] = await db.sql<{ id: string }>`INSERT INTO backups (trigger, target) VALUES ('manual', 'folder test') RETURNING id::text`;
  return row.id;
}
const row = async (db: Db, id: string) =>
  (await db.sql<{ status: string; phase: string; rows_done: number; error: string | null; heartbeat_at: Date | null; started_at: Date | null; finished_at: Date | null }>`
    SELECT status, phase, rows_done, error, heartbeat_at, started_at, finished_at FROM backups WHERE id = ${id}::uuid`)[0];

describe.each([
  ["PostgreSQL", () => pg as Db],
  ["PGlite", () => lite],
])("tracked runs on %s", (_name, get) => {
  it("claims a queued run exactly once, even when several workers try at the same moment", async () => {
    const db = get();
    const id = await newBackup(db);
    const claims = await Promise.all(Array.from({ length: 5 }, () => backups.claim(db.sql, id, { set: { phase: "reading" } })));
    expect(claims.filter(Boolean)).toHaveLength(1);
    expect(await row(db, id)).toMatchObject({ status: "running", phase: "reading" });
    expect((await row(db, id)).started_at).toBeInstanceOf(Date);
    // Without resume, a running run is not taken again; with resume (a retry continuing), it is.
    expect(await backups.claim(db.sql, id)).toBe(false);
    expect(await backups.claim(db.sql, id, { resume: true })).toBe(true);
  });

  it("records progress and heartbeats while running, and says when a run is no longer running", async () => {
    const db = get();
    const id = await newBackup(db);
    await backups.claim(db.sql, id);
    await db.sql`UPDATE backups SET heartbeat_at = now() - interval '1 hour' WHERE id = ${id}::uuid`;
    expect(await backups.progress(db.sql, id, { phase: "manifest", rows_done: 42 })).toBe(true);
    const after = await row(db, id);
    expect(after).toMatchObject({ phase: "manifest", rows_done: 42 });
    expect(Date.now() - after.heartbeat_at!.getTime()).toBeLessThan(60_000);
    const other = await newBackup(db); // queued, not running
    expect(await backups.heartbeat(db.sql, [id, other])).toEqual([id]);
    await expect(backups.progress(db.sql, id, { error: "x" } as never)).rejects.toThrow(/not a progress column/);
  });

  it("fails running runs whose heartbeat is stale and queued runs nobody took, and leaves live ones", async () => {
    const db = get();
    const dead = await newBackup(db);
    const live = await newBackup(db);
    const stuck = await newBackup(db);
    await backups.claim(db.sql, dead);
    await backups.claim(db.sql, live);
    await db.sql`UPDATE backups SET heartbeat_at = now() - interval '20 minutes' WHERE id = ${dead}::uuid`;
    await db.sql`UPDATE backups SET created_at = now() - interval '20 minutes' WHERE id = ${stuck}::uuid`;
    const failedRunning = await backups.failStale(db.sql, { status: "running", olderThanMs: 10 * 60_000, error: "worker stopped", fields: { phase: "done" } });
    const failedQueued = await backups.failStale(db.sql, { status: "queued", olderThanMs: 10 * 60_000, error: "nobody took it" });
    expect(failedRunning).toEqual([dead]);
    expect(failedQueued).toContain(stuck);
    expect(await row(db, dead)).toMatchObject({ status: "failed", phase: "done", error: "worker stopped" });
    expect(await row(db, stuck)).toMatchObject({ status: "failed", error: "nobody took it" });
    expect(await row(db, live)).toMatchObject({ status: "running", error: null });
    // The first end wins: the worker that comes back late cannot turn the failed run into a success.
    expect(await backups.succeed(db.sql, dead, { phase: "done" })).toBe(false);
    expect((await row(db, dead)).status).toBe("failed");
  });

  it("cancels a running run: it ends at once, and its worker learns it at the next heartbeat or progress", async () => {
    const db = get();
    const id = await newBackup(db);
    await backups.claim(db.sql, id);
    expect(await backups.cancel(db.sql, id, "stopped by an administrator")).toBe(true);
    const r = await row(db, id);
    expect(r).toMatchObject({ status: "failed", error: "Cancelled: stopped by an administrator" });
    expect(r.finished_at).toBeInstanceOf(Date);
    expect(await backups.heartbeat(db.sql, [id])).toEqual([]);
    expect(await backups.progress(db.sql, id, { rows_done: 1 })).toBe(false);
    expect(await backups.succeed(db.sql, id)).toBe(false);
    expect(await backups.cancel(db.sql, id, "again")).toBe(false);
    // A queued run can be cancelled too, and is then never claimed.
    const queued = await newBackup(db);
    expect(await backups.cancel(db.sql, queued, "not needed")).toBe(true);
    expect(await backups.claim(db.sql, queued, { resume: true })).toBe(false);
  });

  it("ends a schedule run with what it produced, and keeps the first end", async () => {
    const db = get();
    const runs = trackedRuns("schedule");
    const [s] = await db.sql<{ id: string }>`
      INSERT INTO schedules (name, target_kind, target_config, interval_minutes, anchor_at, next_run_at, updated_at)
      VALUES ('probe', 'backup', '{}'::jsonb, 60, now(), now() + interval '1 hour', now()) RETURNING id::text`;
    const [r] = await db.sql<{ id: string }>`
      INSERT INTO schedule_runs (schedule_id, trigger, status, claimed_by) VALUES (${s.id}::uuid, 'manual', 'running', 'test') RETURNING id::text`;
    expect(await runs.progress(db.sql, r.id, { result_kind: "backup", result_id: "b-1" })).toBe(true);
    expect(await runs.succeed(db.sql, r.id)).toBe(true);
    expect(await runs.fail(db.sql, r.id, "late")).toBe(false);
    const [after] = await db.sql<{ status: string; result_kind: string; error: string | null }>`
      SELECT status, result_kind, error FROM schedule_runs WHERE id = ${r.id}::uuid`;
    expect(after).toEqual({ status: "succeeded", result_kind: "backup", error: null });
  });
});
