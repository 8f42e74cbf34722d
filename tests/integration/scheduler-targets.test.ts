// Product target kinds through the scheduler: a schedule hands its run to an evaluation run (lib/evaluate,
// queued on the real job queue) and finishes when that run finishes; bad target settings name the field.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AccessContext } from "@/lib/access/context";
import { setDb } from "@/lib/db/client";
import { ValidationError } from "@/lib/errors";
import { createDataset } from "@/lib/evaluate/datasets";
import { getEvaluationRun, processEvaluationRun } from "@/lib/evaluate";
import { closeQueue } from "@/lib/jobs/queue";
import { getExecutor, syncHandedOffRuns } from "@/lib/schedules/engine";
import { createSchedule, getSchedule, getScheduleHistory, runScheduleNow, updateSchedule } from "@/lib/schedules/service";
import { listTargetKinds } from "@/lib/schedules/targets";
import { accessOf, makeUser } from "@/tests/helpers/auth";
import { beforeMigration, createTestDb, type TestDb } from "@/tests/helpers/db";
import { addMembers, makeCollection, makeSource } from "@/tests/helpers/factories";
import { parseWith } from "@/lib/http/route";
import { createScheduleBody, updateScheduleBody } from "@/lib/schedules/rules";

let db: TestDb;
/** The admin who creates the schedules (and, by default, whom they run as). */
let admin: AccessContext;

beforeAll(async () => {
  process.env.OLLAMA_HOST = "http://127.0.0.1:9"; // nothing listens: the evaluation cannot reach a model
  db = await createTestDb();
  setDb(db); // the job queue opens on the process database
  admin = await accessOf(db, await makeUser(db, "admin"));
});
afterAll(async () => {
  await getExecutor(db).drain();
  await closeQueue();
  await db?.drop();
});

describe("target kinds", () => {
  it("lists the product kinds and the webhook", () => {
    expect(listTargetKinds().map((k) => k.kind)).toEqual(expect.arrayContaining(["evaluation_run", "notion_reconcile", "backup", "webhook"]));
  });

  it("refuses an evaluation schedule for a dataset that does not exist, naming the field", async () => {
    const err = await createSchedule(admin, parseWith(createScheduleBody, {
      name: "nightly eval",
      target: { kind: "evaluation_run", config: { datasetId: "00000000-0000-4000-8000-000000000000" } },
      cron: "0 3 * * *",
      timeZone: "Europe/Berlin",
    }, "body")).catch((e) => e);
    expect(err).toBeInstanceOf(ValidationError);
    expect(err.details).toEqual([{ path: "target.config.datasetId", message: "no dataset has this id" }]);
  });

  it("an evaluation run started by a schedule is linked both ways and its end is the schedule run's end", async () => {
    const ds = await createDataset(admin, { name: "FAQ", items: [{ question: "How do I request leave?", referenceAnswer: null, expectedSources: [] }] });
    const s = await createSchedule(admin, parseWith(createScheduleBody, {
      name: "nightly eval",
      target: { kind: "evaluation_run", config: { datasetId: ds.id } },
      cron: "0 3 * * *",
      timeZone: "Europe/Berlin",
    }, "body"));
    expect(s.target).toMatchObject({ kind: "evaluation_run", summary: 'Evaluation of dataset "FAQ"' });

    const run = await runScheduleNow(admin, s.id);
    await getExecutor(db).drain();
    const [handed] = await getScheduleHistory(admin, s.id);
    expect(handed).toMatchObject({ id: run.id, status: "running", result: { kind: "evaluation_run", id: expect.any(String) } });
    const evalRun = await getEvaluationRun(admin, handed.result!.id);
    expect(evalRun).toMatchObject({ scheduleRunId: run.id, trigger: "manual", status: "queued" });

    // While the evaluation is queued, the watcher keeps the schedule run alive.
    expect(await syncHandedOffRuns(db)).toBe(0);
    expect((await getSchedule(admin, s.id)).running).toBe(1);

    // Editing the schedule's target meanwhile does not lose track of the evaluation already started.
    await updateSchedule(admin, s.id, parseWith(updateScheduleBody, { target: { kind: "backup", config: {} } }, "body"));

    // The evaluation worker runs it (no model reachable here, so its items fail); the run ends either way.
    await processEvaluationRun(db, handed.result!.id);
    const ended = await getEvaluationRun(admin, handed.result!.id);
    expect(["completed", "failed"]).toContain(ended!.status);
    expect(await syncHandedOffRuns(db)).toBe(1);
    const [done] = await getScheduleHistory(admin, s.id);
    expect(done.status).toBe(ended!.status === "completed" ? "succeeded" : "failed");
    expect(done.finishedAt).not.toBeNull();
    expect((await getSchedule(admin, s.id)).running).toBe(0);
  });

  it("refuses a user to run as who is disabled, lacks the target's permission or may not read the dataset, naming the field", async () => {
    const open = await makeCollection(db, { slug: "runas-open", name: "Open" });
    const secret = await makeCollection(db, { slug: "runas-secret", name: "Secret", restricted: true });
    admin = await accessOf(db, { id: admin.principal.userId! }); // a context is per request: this one sees the new collections
    const ds = await createDataset(admin, { name: "Secret FAQ", collectionIds: [open.id, secret.id], items: [{ question: "Q?", referenceAnswer: null, expectedSources: [] }] });
    const viewer = await makeUser(db, "viewer");
    const evaluator = await makeUser(db, "evaluator");
    const disabled = await makeUser(db, "evaluator");
    await db.prisma.user.update({ where: { id: disabled.id }, data: { disabledAt: new Date() } });
    const attempt = (runAs: string) =>
      createSchedule(admin, parseWith(createScheduleBody, { name: "eval", target: { kind: "evaluation_run", config: { datasetId: ds.id } }, intervalMinutes: 60, runAsUserId: runAs }, "body")).catch((e) => e);
    expect((await attempt(viewer.id)).details).toEqual([{ path: "runAsUserId", message: `${viewer.email} (viewer) lacks the "score" permission that "Evaluation run" needs` }]);
    expect((await attempt(disabled.id)).details).toEqual([{ path: "runAsUserId", message: `${disabled.email} is disabled` }]);
    expect((await attempt("00000000-0000-4000-8000-000000000000")).details).toEqual([{ path: "runAsUserId", message: "no user has this id" }]);
    expect((await attempt(evaluator.id)).details).toEqual([
      { path: "target.config.datasetId", message: `${evaluator.email}, whom this schedule runs as, may not read every collection of this dataset` },
    ]);
    // A member of the restricted collection may; so may the admin creating it (the default).
    await addMembers(db, secret.id, [evaluator.id]);
    expect(await attempt(evaluator.id)).toMatchObject({ runAsUserId: evaluator.id });
    const byDefault = await createSchedule(admin, parseWith(createScheduleBody, { name: "eval 2", target: { kind: "evaluation_run", config: { datasetId: ds.id } }, intervalMinutes: 60 }, "body"));
    expect(byDefault.runAsUserId).toBe(admin.principal.userId);
  });

  it("runs as its user, not as the admin pressing Run now; a disabled or deleted user fails the run, with no fallback", async () => {
    const evaluator = await makeUser(db, "evaluator");
    const open = await makeCollection(db, { slug: "runas-everyone", name: "Everyone" });
    admin = await accessOf(db, { id: admin.principal.userId! });
    const ds = await createDataset(admin, { name: "Run-as FAQ", collectionIds: [open.id], items: [{ question: "How do I request leave?", referenceAnswer: null, expectedSources: [] }] });
    const s = await createSchedule(admin, parseWith(createScheduleBody, { name: "as evaluator", target: { kind: "evaluation_run", config: { datasetId: ds.id } }, intervalMinutes: 60, maxConcurrent: 3, runAsUserId: evaluator.id }, "body"));

    await runScheduleNow(admin, s.id);
    await getExecutor(db).drain();
    const [first] = await getScheduleHistory(admin, s.id);
    const evalRun = await db.prisma.evaluationRun.findUniqueOrThrow({ where: { id: first.result!.id } });
    expect(evalRun).toMatchObject({ createdById: evaluator.id, apiKeyId: null, trigger: "manual" });

    const runsBefore = await db.prisma.evaluationRun.count();
    await db.prisma.user.update({ where: { id: evaluator.id }, data: { disabledAt: new Date() } });
    await runScheduleNow(admin, s.id);
    await getExecutor(db).drain();
    const [refused] = await getScheduleHistory(admin, s.id);
    expect(refused).toMatchObject({ status: "failed", result: null });
    expect(refused.error).toBe(`${evaluator.email} is disabled; an admin must choose another user to run it as`);

    await db.prisma.user.delete({ where: { id: evaluator.id } });
    expect((await getSchedule(admin, s.id)).runAsUserId).toBeNull();
    await runScheduleNow(admin, s.id);
    await getExecutor(db).drain();
    const [orphaned] = await getScheduleHistory(admin, s.id);
    expect(orphaned).toMatchObject({ status: "failed", error: "this schedule has no user to run as (that user was deleted); an admin must choose one" });
    expect(await db.prisma.evaluationRun.count()).toBe(runsBefore);
  });

  it("a reconcile schedule hands its run to an import job of the source", async () => {
    const col = await makeCollection(db, { slug: "handbook", name: "Handbook" });
    const upload = await makeSource(db, { collectionId: col.id, kind: "upload", name: "Uploads" });
    const s3 = await makeSource(db, { collectionId: col.id, kind: "s3", name: "Policies bucket", config: { bucket: "policies" } });
    const refused = await createSchedule(admin, parseWith(createScheduleBody, {
      name: "reconcile uploads",
      target: { kind: "notion_reconcile", config: { sourceId: upload.id } },
      intervalMinutes: 60,
    }, "body")).catch((e) => e);
    expect(refused.details).toEqual([
      { path: "target.config.sourceId", message: "this upload source has nothing to reconcile (only Notion and S3 sources do)" },
    ]);

    const s = await createSchedule(admin, parseWith(createScheduleBody, { name: "hourly sync", target: { kind: "notion_reconcile", config: { sourceId: s3.id } }, intervalMinutes: 60 }, "body"));
    expect(s.target.summary).toBe('Reconcile S3 source "Policies bucket"');
    const run = await runScheduleNow(admin, s.id);
    await getExecutor(db).drain();
    const [handed] = await getScheduleHistory(admin, s.id);
    expect(handed).toMatchObject({ id: run.id, status: "running", result: { kind: "import_job", id: expect.any(String) } });
    const job = await db.prisma.importJob.findUniqueOrThrow({ where: { id: handed.result!.id } });
    expect(job).toMatchObject({ sourceId: s3.id, status: "queued" });
    expect(await syncHandedOffRuns(db)).toBe(0); // still queued: the schedule run stays in progress
    expect((await getScheduleHistory(admin, s.id))[0].status).toBe("running");
  });
});

describe("the camelCase migration of stored target settings", () => {
  it("renames dataset_id, source_id and timeout_seconds and leaves other settings as they were", async () => {
    const before = await beforeMigration("_schedule_config_camel_case");
    const { sql } = before;
    try {
      // Every migration before this one, then schedules as they were stored, then this one.
      await sql.exec(`
        INSERT INTO schedules (name, target_kind, target_config, interval_minutes) VALUES
          ('eval', 'evaluation_run', '{"dataset_id": "00000000-0000-4000-8000-0000000000d1"}', 60),
          ('sync', 'notion_reconcile', '{"source_id": "00000000-0000-4000-8000-0000000000e1"}', 60),
          ('ping', 'webhook', '{"url": "https://hooks.example.test/x", "timeout_seconds": 12}', 60),
          ('backup', 'backup', '{}', 60);`);
      await before.applyIt();
      const rows = await sql.query<{ name: string; target_config: unknown }>(`SELECT name, target_config FROM schedules ORDER BY name`);
      expect(rows).toEqual([
        { name: "backup", target_config: {} },
        { name: "eval", target_config: { datasetId: "00000000-0000-4000-8000-0000000000d1" } },
        { name: "ping", target_config: { url: "https://hooks.example.test/x", timeoutSeconds: 12 } },
        { name: "sync", target_config: { sourceId: "00000000-0000-4000-8000-0000000000e1" } },
      ]);
    } finally {
      await before.close();
    }
  });
});
