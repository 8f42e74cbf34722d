// The scheduler's engine on a real database (PostgreSQL with TEST_DATABASE_URL, else PGlite), with real
// webhook calls to a loopback server: claiming, limits, manual starts, dead runs, validation.
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { AccessContext } from "@/lib/access/context";
import { resetConfig } from "@/lib/config";
import { ConflictError, ValidationError } from "@/lib/errors";
import { claimDueRuns, defaultEngineOptions, failDeadRuns, getExecutor, type EngineOptions } from "@/lib/schedules/engine";
import { startScheduler } from "@/lib/schedules";
import {
  createSchedule,
  getSchedule,
  getScheduleHistory,
  runScheduleNow,
  setScheduleEnabled,
  updateSchedule,
} from "@/lib/schedules/service";
import { startWebhookSink, type WebhookSink } from "@/tests/fakes/schedule-webhook-sink";
import { accessOf, makeUser } from "@/tests/helpers/auth";
import { createTestDb, type TestDb } from "@/tests/helpers/db";
import { parseWith } from "@/lib/http/route";
import { createScheduleBody, updateScheduleBody } from "@/lib/schedules/rules";

// The webhook target goes through the SSRF guard: the loopback sink must be allowed explicitly.
process.env.OUTBOUND_ALLOW = "127.0.0.1";
resetConfig();

let db: TestDb;
/** The admin who creates the schedules (and, by default, whom they run as). */
let admin: AccessContext;
let sink: WebhookSink;
const opts = (o: Partial<EngineOptions> = {}): EngineOptions =>
  defaultEngineOptions({ owner: "test:1", globalLimit: 4, batchSize: 25, deadRunSeconds: 120, ...o });

beforeAll(async () => {
  db = await createTestDb();
  admin = await accessOf(db, await makeUser(db, "admin"));
  sink = await startWebhookSink();
});
afterAll(async () => {
  await getExecutor(db).drain();
  await sink?.close();
  await db?.drop();
});
afterEach(async () => {
  sink.release();
  sink.mode = "answer";
  await getExecutor(db).drain();
  await db.prisma.schedule.deleteMany({});
  sink.notices.length = 0;
});

const webhook = (name: string, extra: Record<string, unknown> = {}) =>
  createSchedule(admin, parseWith(createScheduleBody, { name, target: { kind: "webhook", config: { url: sink.url } }, intervalMinutes: 60, ...extra }, "body"));

async function makeDue(id: string, at = new Date(Date.now() - 60_000)) {
  await db.prisma.schedule.update({ where: { id }, data: { nextRunAt: at } });
  return at;
}

async function runsOf(id: string) {
  return db.prisma.scheduleRun.findMany({ where: { scheduleId: id }, orderBy: { startedAt: "asc" } });
}

describe("claiming due schedules", () => {
  it("a due schedule creates exactly one run; a disabled one and one not yet due none", async () => {
    const due = await webhook("due");
    const disabled = await webhook("disabled", { enabled: false });
    const later = await webhook("later");
    const dueAt = await makeDue(due.id);
    await makeDue(disabled.id); // even with a past nextRunAt, disabled means never claimed

    const first = await claimDueRuns(db, opts());
    expect(first.map((c) => c.scheduleId)).toEqual([due.id]);
    expect(await claimDueRuns(db, opts())).toEqual([]); // claimed once only
    await Promise.all(first.map((c) => getExecutor(db).execute(c)));

    const [run] = await runsOf(due.id);
    expect(run).toMatchObject({ trigger: "schedule", status: "succeeded", resultKind: "http_response", resultId: "204", claimedBy: "test:1" });
    expect(run.dueAt?.toISOString()).toBe(dueAt.toISOString());
    expect(await runsOf(disabled.id)).toHaveLength(0);
    expect(await runsOf(later.id)).toHaveLength(0);
    expect(sink.notices).toEqual([
      expect.objectContaining({ event: "schedule.run", schedule: { id: due.id, name: "due" }, run: { id: run.id }, trigger: "schedule" }),
    ]);

    // nextRunAt moved forward on the interval grid, past now; lastRunAt recorded
    const after = await getSchedule(admin, due.id);
    const anchor = (await db.prisma.schedule.findUniqueOrThrow({ where: { id: due.id } })).anchorAt.getTime();
    const next = Date.parse(after.nextRunAt!);
    expect(next).toBeGreaterThan(Date.now());
    expect((next - anchor) % 3_600_000).toBe(0);
    expect(after.lastRunAt).not.toBeNull();
    expect(after.lastRun).toMatchObject({ id: run.id, status: "succeeded", result: { kind: "http_response", id: "204" } });
  });

  it("missed due times collapse into one run (no catch-up storm)", async () => {
    const s = await webhook("missed", { intervalMinutes: 1 });
    await makeDue(s.id, new Date(Date.now() - 3 * 3_600_000)); // 180 due times missed
    const claimed = await claimDueRuns(db, opts());
    expect(claimed).toHaveLength(1);
    expect(await claimDueRuns(db, opts())).toEqual([]);
    await getExecutor(db).execute(claimed[0]);
    expect(await runsOf(s.id)).toHaveLength(1);
  });

  it("the poll loop claims and runs due schedules by itself, and stops cleanly", async () => {
    const a = await webhook("loop-a");
    const b = await webhook("loop-b", { cron: "*/5 * * * *", intervalMinutes: null, timeZone: "Europe/Berlin" });
    await makeDue(a.id);
    await makeDue(b.id);
    const ac = new AbortController();
    const loop = startScheduler({ db, signal: ac.signal, pollMs: 50, engine: { owner: "loop:1", globalLimit: 4 } });
    await sink.waitFor(2, 20_000);
    for (let i = 0; i < 100 && (await db.prisma.scheduleRun.count({ where: { status: "succeeded" } })) < 2; i++) await sleep(50);
    await sleep(300); // several more polls: nothing else is due
    ac.abort();
    await loop.stopped;
    expect((await runsOf(a.id)).map((r) => r.status)).toEqual(["succeeded"]);
    expect((await runsOf(b.id)).map((r) => r.status)).toEqual(["succeeded"]);
    // the cron schedule's next run is the next 5-minute mark
    const next = new Date((await getSchedule(admin, b.id)).nextRunAt!);
    expect(next.getUTCMinutes() % 5).toBe(0);
    expect(next.getTime() - Date.now()).toBeLessThanOrEqual(5 * 60_000);
  });
});

describe("concurrency limits", () => {
  it("the global limit caps runs in progress across schedules, manual starts included", async () => {
    sink.mode = "hold";
    const limit = defaultEngineOptions().globalLimit; // SCHEDULER_MAX_CONCURRENT_RUNS (4 by default)
    const all = await Promise.all(Array.from({ length: limit + 2 }, (_, i) => webhook(`g${i}`)));
    // Due a second apart, in creation order: runs are claimed oldest due first (ties by id, which is random).
    const due = Date.now() - 60_000;
    for (const [i, s] of all.entries()) await makeDue(s.id, new Date(due + i * 1000));
    const first = await claimDueRuns(db, opts({ globalLimit: limit }));
    expect(first.map((c) => c.scheduleId)).toEqual(all.slice(0, limit).map((s) => s.id));
    const work = first.map((c) => getExecutor(db).execute(c));
    expect(await claimDueRuns(db, opts({ globalLimit: limit }))).toEqual([]);
    await expect(runScheduleNow(admin, all[limit + 1].id)).rejects.toThrow(/global limit, SCHEDULER_MAX_CONCURRENT_RUNS, is/);
    await sink.waitFor(limit);
    expect(sink.maxInflight).toBe(limit);
    sink.release();
    await Promise.all(work);
    sink.mode = "answer";
    const rest = await claimDueRuns(db, opts({ globalLimit: limit }));
    expect(rest.map((c) => c.scheduleId)).toEqual(all.slice(limit).map((s) => s.id));
    await Promise.all(rest.map((c) => getExecutor(db).execute(c)));
  });

  it("the per-schedule limit holds for scheduled and manual starts alike", async () => {
    sink.mode = "hold";
    const s = await webhook("per", { maxConcurrent: 2 });
    const a = await runScheduleNow(admin, s.id);
    const b = await runScheduleNow(admin, s.id);
    expect([a.status, b.status]).toEqual(["running", "running"]);
    const third = runScheduleNow(admin, s.id);
    await expect(third).rejects.toThrow(ConflictError);
    await expect(third).rejects.toThrow(/already has 2 runs in progress \(its limit is 2\)/);
    await makeDue(s.id);
    expect(await claimDueRuns(db, opts())).toEqual([]); // full: stays due
    expect((await getSchedule(admin, s.id)).running).toBe(2);
    await sink.waitFor(2);
    sink.mode = "answer";
    sink.release();
    await getExecutor(db).drain();
    const claimed = await claimDueRuns(db, opts());
    expect(claimed.map((c) => c.scheduleId)).toEqual([s.id]);
    await getExecutor(db).execute(claimed[0]);
    expect((await runsOf(s.id)).map((r) => [r.trigger, r.status])).toEqual([
      ["manual", "succeeded"],
      ["manual", "succeeded"],
      ["schedule", "succeeded"],
    ]);
  });
});

describe("manual starts", () => {
  it("are recorded like scheduled runs, with trigger manual, and leave nextRunAt alone", async () => {
    const s = await webhook("manual");
    const before = (await getSchedule(admin, s.id)).nextRunAt;
    const run = await runScheduleNow(admin, s.id);
    await getExecutor(db).drain();
    const history = await getScheduleHistory(admin, s.id);
    expect(history).toEqual([
      expect.objectContaining({ id: run.id, trigger: "manual", status: "succeeded", dueAt: null, result: { kind: "http_response", id: "204" } }),
    ]);
    expect(history[0].finishedAt).not.toBeNull();
    expect(sink.notices.map((n) => n.trigger)).toEqual(["manual"]);
    const after = await getSchedule(admin, s.id);
    expect(after.nextRunAt).toBe(before);
    expect(after.lastRunAt).not.toBeNull();
  });

  it("work that fails is recorded as failed with a short error", async () => {
    sink.status = 500;
    try {
      const s = await webhook("fails");
      await runScheduleNow(admin, s.id);
      await getExecutor(db).drain();
      const [run] = await getScheduleHistory(admin, s.id);
      expect(run).toMatchObject({ status: "failed", error: expect.stringMatching(/^127\.0\.0\.1:\d+ answered HTTP 500$/) });
    } finally {
      sink.status = 204;
    }
  });
});

describe("dead runs", () => {
  it("a run whose process stopped heart-beating is failed, and the schedule goes on", async () => {
    const s = await webhook("dead");
    await makeDue(s.id);
    // Claimed by a process that then died before doing anything: nobody executes or heart-beats it.
    const [ghost] = await claimDueRuns(db, opts({ owner: "ghost:99" }));
    await sleep(2_100);
    expect(await failDeadRuns(db, 2)).toEqual([ghost.runId]);
    const [run] = await runsOf(s.id);
    expect(run).toMatchObject({ status: "failed", error: "the process running it stopped (no heartbeat for 2 s)" });
    expect(await failDeadRuns(db, 2)).toEqual([]);
    // the schedule is still enabled and due again later; once due, it runs
    await makeDue(s.id);
    const [again] = await claimDueRuns(db, opts());
    await getExecutor(db).execute(again);
    expect((await runsOf(s.id)).map((r) => r.status)).toEqual(["failed", "succeeded"]);
  });

  it("a run past its schedule's timeout is failed and frees its slot", async () => {
    const s = await webhook("slow", { timeoutMinutes: 30 });
    await makeDue(s.id);
    const [claimed] = await claimDueRuns(db, opts({ owner: "elsewhere:1" }));
    // alive (fresh heartbeat) but started 31 minutes ago
    await db.prisma.scheduleRun.update({ where: { id: claimed.runId }, data: { startedAt: new Date(Date.now() - 31 * 60_000) } });
    expect(await failDeadRuns(db, 120)).toEqual([claimed.runId]);
    expect((await runsOf(s.id))[0]).toMatchObject({ status: "failed", error: "timed out after 30 min" });
    expect((await getSchedule(admin, s.id)).running).toBe(0);
  });

  it("a live run keeps its heartbeat fresh and is not failed", async () => {
    sink.mode = "hold";
    const s = await webhook("alive");
    const run = await runScheduleNow(admin, s.id);
    await sink.waitFor(1);
    const executor = getExecutor(db);
    const t0 = (await db.prisma.scheduleRun.findUniqueOrThrow({ where: { id: run.id } })).heartbeatAt;
    await sleep(50);
    await executor.heartbeat();
    const t1 = (await db.prisma.scheduleRun.findUniqueOrThrow({ where: { id: run.id } })).heartbeatAt;
    expect(t1.getTime()).toBeGreaterThan(t0.getTime());
    expect(await failDeadRuns(db, 2)).toEqual([]);
    sink.release();
  });
});

describe("validation and editing", () => {
  const bad = async (input: Record<string, unknown>) => {
    try {
      await createSchedule(admin, parseWith(createScheduleBody, { name: "x", target: { kind: "webhook", config: { url: sink.url } }, ...input }, "body"));
    } catch (err) {
      expect(err).toBeInstanceOf(ValidationError);
      return ((err as ValidationError).details as Array<{ path: string; message: string }>).map((d) => `${d.path}: ${d.message}`);
    }
    throw new Error("accepted");
  };

  it("names the field that is wrong", async () => {
    expect(await bad({ cron: "61 * * * *" })).toEqual(["cron: minute field: 61 is out of range 0-59"]);
    expect(await bad({ cron: "0 0 30 2 *" })).toEqual(['cron: "0 0 30 2 *" never fires (no such date)']);
    expect(await bad({ cron: "0 * * * *", timeZone: "Mars/Base" })).toEqual([
      'timeZone: "Mars/Base" is not an IANA time zone such as Europe/Berlin or UTC',
    ]);
    expect(await bad({ intervalMinutes: 5, cron: "* * * * *" })).toEqual(["cron: give either intervalMinutes or cron, not both"]);
    expect(await bad({})).toEqual(["intervalMinutes: give either intervalMinutes or cron"]);
    expect(await bad({ intervalMinutes: 0 })).toEqual(["intervalMinutes: must be at least 1"]);
    expect(await bad({ intervalMinutes: 5, maxConcurrent: 0 })).toEqual(["maxConcurrent: must be at least 1"]);
    expect(await bad({ intervalMinutes: 5, maxConcurrent: 50 })).toEqual([
      `maxConcurrent: cannot exceed the global limit of ${defaultEngineOptions().globalLimit} runs (SCHEDULER_MAX_CONCURRENT_RUNS)`,
    ]);
    expect(await bad({ intervalMinutes: 5, target: { kind: "telepathy" } })).toEqual([
      expect.stringMatching(/^target\.kind: unknown kind "telepathy"; one of: .*webhook/),
    ]);
    expect(await bad({ intervalMinutes: 5, target: { kind: "webhook", config: { url: "ftp://x" } } })).toEqual([
      "target.config.url: must be an http(s) URL",
    ]);
    expect(await bad({ intervalMinutes: 5, target: { kind: "webhook", config: { url: "http://10.9.8.7/hook" } } })).toEqual([
      expect.stringMatching(/^target\.config\.url: .*10\.9\.8\.7.*OUTBOUND_ALLOW/),
    ]);
  });

  it("switching rules and disabling/enabling recompute nextRunAt", async () => {
    const s = await webhook("edit");
    const now = new Date("2026-03-07T12:00:00Z");
    const cron = await updateSchedule(admin, s.id, parseWith(updateScheduleBody, { cron: "30 2 * * *", timeZone: "America/New_York" }, "body"), now);
    expect(cron).toMatchObject({ intervalMinutes: null, cron: "30 2 * * *", timeZone: "America/New_York" });
    expect(cron.nextRunAt).toBe("2026-03-08T07:30:00.000Z"); // 02:30 does not exist that night → 03:30 EDT
    const off = await setScheduleEnabled(admin, s.id, false, now);
    expect(off).toMatchObject({ enabled: false, nextRunAt: null });
    const on = await setScheduleEnabled(admin, s.id, true, new Date("2026-03-09T12:00:00Z"));
    expect(on.nextRunAt).toBe("2026-03-10T06:30:00.000Z");
    const back = await updateSchedule(admin, s.id, parseWith(updateScheduleBody, { intervalMinutes: 15 }, "body"), new Date("2026-03-09T12:00:00Z"));
    expect(back).toMatchObject({ intervalMinutes: 15, cron: null, nextRunAt: "2026-03-09T12:15:00.000Z" });
    expect(back.target).toMatchObject({ kind: "webhook", summary: expect.stringMatching(/^POST to 127\.0\.0\.1:\d+$/) });
  });
});
