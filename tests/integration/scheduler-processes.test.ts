// Real scheduler processes (workers/scheduler.ts, spawned as children) against one PostgreSQL
// database: two of them over 200 due schedules, limits under load, and a SIGKILL in the middle of a run.
// Several processes cannot share the in-process PGlite, so this file needs TEST_DATABASE_URL.
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AccessContext } from "@/lib/access/context";
import { resetConfig } from "@/lib/config";
import { ConflictError } from "@/lib/errors";
import { createSchedule, getScheduleHistory, runScheduleNow } from "@/lib/schedules/service";
import { getExecutor } from "@/lib/schedules/engine";
import { startWebhookSink, type WebhookSink } from "@/tests/fakes/schedule-webhook-sink";
import { accessOf, makeUser } from "@/tests/helpers/auth";
import { createTestDb, type TestDb } from "@/tests/helpers/db";
import { spawnScheduler, type SchedulerProcess as Proc } from "@/tests/helpers/scheduler-process";
import { parseWith } from "@/lib/http/route";
import { createScheduleBody } from "@/lib/schedules/rules";
import { until } from "@/tests/helpers/until";

// The webhook target goes through the SSRF guard: the loopback sink must be allowed explicitly.
process.env.OUTBOUND_ALLOW = "127.0.0.1";
resetConfig();

let db: TestDb;
/** The admin who creates the schedules (and, by default, whom they run as). */
let admin: AccessContext;
let sink: WebhookSink;

beforeAll(async () => {
  db = await createTestDb();
  if (!db.url) {
    throw new Error("These tests run several processes on one database: set TEST_DATABASE_URL (PGlite is in-process only).");
  }
  sink = await startWebhookSink();
  admin = await accessOf(db, await makeUser(db, "admin"));
});
afterAll(async () => {
  await getExecutor(db).drain();
  await sink?.close();
  await db?.drop();
});

const webhook = (name: string, extra: Record<string, unknown> = {}) =>
  createSchedule(admin, parseWith(createScheduleBody, { name, target: { kind: "webhook", config: { url: sink.url } }, intervalMinutes: 1440, ...extra }, "body"));

const count = async (sql: string) => Number((await db.sql.query<{ n: number }>(sql))[0].n);

describe("two scheduler processes", () => {
  const GLOBAL = 10;
  let a: Proc;
  let b: Proc;

  beforeAll(async () => {
    const env = { SCHEDULER_MAX_CONCURRENT_RUNS: String(GLOBAL), SCHEDULER_BATCH_SIZE: "5" };
    [a, b] = await Promise.all([spawnScheduler(db.url!, env), spawnScheduler(db.url!, env)]);
  });
  afterAll(async () => {
    for (const p of [a, b]) p?.child.kill("SIGTERM");
    // A graceful stop ends with exit code 0.
    expect(await Promise.all([a?.exited, b?.exited])).toEqual([0, 0]);
  });

  it("over 200 due schedules: exactly 200 runs, none twice, within the global limit", async () => {
    sink.delayMs = 15;
    const created: string[] = [];
    for (let i = 0; i < 200; i += 20) {
      created.push(...(await Promise.all(Array.from({ length: 20 }, (_, j) => webhook(`bulk-${i + j}`)))).map((s) => s.id));
    }
    // All due at the same moment, with both processes already polling.
    await db.sql.query(`UPDATE schedules SET next_run_at = now() - interval '1 minute'`);
    await sink.waitFor(200);
    await until("200 finished runs", async () => (await count(`SELECT count(*)::int AS n FROM schedule_runs WHERE status <> 'running'`)) === 200);
    await sleep(500); // a few more polls by both: nothing is due any more

    expect(await count(`SELECT count(*)::int AS n FROM schedule_runs`)).toBe(200);
    expect(await count(`SELECT count(DISTINCT schedule_id)::int AS n FROM schedule_runs`)).toBe(200);
    expect(await count(`SELECT count(*)::int AS n FROM schedule_runs WHERE status = 'succeeded' AND trigger = 'schedule'`)).toBe(200);
    expect(new Set(sink.notices.map((n) => n.schedule.id))).toEqual(new Set(created));
    expect(new Set(sink.notices.map((n) => n.run.id)).size).toBe(200);
    expect(sink.notices).toHaveLength(200);
    // both processes took part, and together they never exceeded the global limit
    const owners = await db.sql.query<{ claimed_by: string; n: number }>(
      `SELECT claimed_by, count(*)::int AS n FROM schedule_runs GROUP BY claimed_by`,
    );
    expect(owners.map((o) => o.claimed_by.split(":").pop()).sort()).toEqual([String(a.child.pid), String(b.child.pid)].sort());
    expect(owners.every((o) => o.n > 0)).toBe(true);
    expect(sink.maxInflight).toBeLessThanOrEqual(GLOBAL);
    // every schedule moved on to its next day
    expect(await count(`SELECT count(*)::int AS n FROM schedules WHERE next_run_at <= now()`)).toBe(0);
  });

  it("global and per-schedule limits hold under load, for scheduled and manual starts", async () => {
    await db.sql.query(`DELETE FROM schedules`);
    sink.notices.length = 0;
    sink.maxInflight = 0;
    sink.mode = "hold";
    const limited = await webhook("limited", { maxConcurrent: 2 });
    const others = [];
    for (let i = 0; i < 15; i++) others.push(await webhook(`load-${i}`));
    // For two seconds the limited schedule falls due again and again (and is started by hand) while its
    // runs are held open.
    const end = Date.now() + 2_000;
    let manualRefused = 0;
    let othersDue = false;
    while (Date.now() < end) {
      if (!othersDue && Date.now() > end - 1_000) {
        // Halfway: fifteen more schedules fall due at once and compete for the global slots.
        await db.sql.query(`UPDATE schedules SET next_run_at = now() - interval '1 second' WHERE id <> $1`, [limited.id]);
        othersDue = true;
      }
      await db.sql.query(`UPDATE schedules SET next_run_at = now() - interval '1 second' WHERE id = $1`, [limited.id]);
      await runScheduleNow(admin, limited.id).catch((err) => {
        expect(err).toBeInstanceOf(ConflictError);
        manualRefused++;
      });
      const running = await count(`SELECT count(*)::int AS n FROM schedule_runs WHERE status = 'running'`);
      const mine = await count(`SELECT count(*)::int AS n FROM schedule_runs WHERE status = 'running' AND schedule_id = '${limited.id}'`);
      expect(running).toBeLessThanOrEqual(GLOBAL);
      expect(mine).toBeLessThanOrEqual(2);
      await sleep(50);
    }
    await until("the global limit to fill", async () => sink.inflight === GLOBAL, 10_000);
    expect(sink.maxInflight).toBe(GLOBAL);
    expect(sink.maxInflightBySchedule.get(limited.id)).toBe(2);
    expect(manualRefused).toBeGreaterThan(0);
    expect(await count(`SELECT count(*)::int AS n FROM schedule_runs WHERE status = 'running'`)).toBe(GLOBAL);

    // Let everything finish: the rest of the due schedules get their turn, one run each.
    sink.mode = "answer";
    sink.release();
    await until("all runs to finish", async () => {
      sink.release();
      return (await count(`SELECT count(*)::int AS n FROM schedule_runs WHERE status = 'running'`)) === 0 &&
        (await count(`SELECT count(*)::int AS n FROM schedules WHERE next_run_at <= now()`)) === 0;
    });
    await getExecutor(db).drain();
    for (const o of others) expect((await getScheduleHistory(admin, o.id)).map((r) => r.status)).toEqual(["succeeded"]);
    expect(sink.maxInflight).toBe(GLOBAL);
    expect(Math.max(...sink.maxInflightBySchedule.values())).toBeLessThanOrEqual(2);
  });
});

describe("a scheduler killed in the middle of a run", () => {
  it("leaves the run failed after the dead-run timeout and the schedule working after restart", async () => {
    await db.sql.query(`DELETE FROM schedules`);
    sink.notices.length = 0;
    sink.mode = "hold";
    const env = { SCHEDULER_DEAD_RUN_SECONDS: "2", SCHEDULER_MAX_CONCURRENT_RUNS: "4" };
    const s = await webhook("killed");
    await db.sql.query(`UPDATE schedules SET next_run_at = now() - interval '1 second' WHERE id = $1`, [s.id]);

    const first = await spawnScheduler(db.url!, env);
    await sink.waitFor(1); // the run is in progress inside the child
    first.child.kill("SIGKILL");
    expect(await first.exited).toBeNull();
    const [orphan] = await getScheduleHistory(admin, s.id);
    expect(orphan).toMatchObject({ status: "running", trigger: "schedule" });

    sink.mode = "answer";
    const second = await spawnScheduler(db.url!, env);
    try {
      await until("the orphaned run to be failed", async () => (await getScheduleHistory(admin, s.id))[0].status === "failed", 20_000);
      expect((await getScheduleHistory(admin, s.id))[0]).toMatchObject({
        id: orphan.id,
        status: "failed",
        error: "the process running it stopped (no heartbeat for 2 s)",
      });
      // The schedule went on: enabled, next run already moved forward; when it falls due, it runs.
      const row = await db.prisma.schedule.findUniqueOrThrow({ where: { id: s.id } });
      expect(row.enabled).toBe(true);
      expect(row.nextRunAt!.getTime()).toBeGreaterThan(Date.now());
      await db.sql.query(`UPDATE schedules SET next_run_at = now() - interval '1 second' WHERE id = $1`, [s.id]);
      await until("the next run to succeed", async () => (await getScheduleHistory(admin, s.id))[0].status === "succeeded", 20_000);
      expect((await getScheduleHistory(admin, s.id)).map((r) => [r.trigger, r.status])).toEqual([
        ["schedule", "succeeded"],
        ["schedule", "failed"],
      ]);
    } finally {
      second.child.kill("SIGTERM");
      await second.exited;
    }
  }, 150_000); // two scheduler processes start here, each a tsx process: slow on a loaded 2-core machine
});
