// Product target kinds through the scheduler: a schedule hands its run to an evaluation run (lib/evaluate,
// queued on the real job queue) and finishes when that run finishes; bad target settings name the field.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { setDb } from "@/lib/db/client";
import { ValidationError } from "@/lib/errors";
import { createDataset } from "@/lib/evaluate/datasets";
import { getEvaluationRun, processEvaluationRun } from "@/lib/evaluate";
import { closeQueue } from "@/lib/jobs/queue";
import { getExecutor, syncHandedOffRuns } from "@/lib/schedules/engine";
import { createSchedule, getSchedule, getScheduleHistory, runScheduleNow, updateSchedule } from "@/lib/schedules/service";
import { listTargetKinds } from "@/lib/schedules/targets";
import { createTestDb, type TestDb } from "../helpers/db";

let db: TestDb;

beforeAll(async () => {
  process.env.OLLAMA_HOST = "http://127.0.0.1:9"; // nothing listens: the evaluation cannot reach a model
  db = await createTestDb();
  setDb(db); // the job queue opens on the process database
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
    const err = await createSchedule(db, {
      name: "nightly eval",
      target: { kind: "evaluation_run", config: { dataset_id: "00000000-0000-4000-8000-000000000000" } },
      cron: "0 3 * * *",
      time_zone: "Europe/Berlin",
    }).catch((e) => e);
    expect(err).toBeInstanceOf(ValidationError);
    expect(err.details).toEqual([{ path: "target.config.dataset_id", message: "no dataset has this id" }]);
  });

  it("an evaluation run started by a schedule is linked both ways and its end is the schedule run's end", async () => {
    const ds = await createDataset(db, { name: "FAQ", items: [{ question: "How do I request leave?", referenceAnswer: null, expectedSources: [] }] }, null);
    const s = await createSchedule(db, {
      name: "nightly eval",
      target: { kind: "evaluation_run", config: { dataset_id: ds.id } },
      cron: "0 3 * * *",
      time_zone: "Europe/Berlin",
    });
    expect(s.target).toMatchObject({ kind: "evaluation_run", summary: 'Evaluation of dataset "FAQ"' });

    const run = await runScheduleNow(db, s.id);
    await getExecutor(db).drain();
    const [handed] = await getScheduleHistory(db, s.id);
    expect(handed).toMatchObject({ id: run.id, status: "running", result: { kind: "evaluation_run", id: expect.any(String) } });
    const evalRun = await getEvaluationRun(handed.result!.id, db);
    expect(evalRun).toMatchObject({ scheduleRunId: run.id, trigger: "manual", status: "queued" });

    // While the evaluation is queued, the watcher keeps the schedule run alive.
    expect(await syncHandedOffRuns(db)).toBe(0);
    expect((await getSchedule(db, s.id)).running).toBe(1);

    // Editing the schedule's target meanwhile does not lose track of the evaluation already started.
    await updateSchedule(db, s.id, { target: { kind: "backup", config: {} } });

    // The evaluation worker runs it (no model reachable here, so its items fail); the run ends either way.
    await processEvaluationRun(handed.result!.id, { db });
    const ended = await getEvaluationRun(handed.result!.id, db);
    expect(["completed", "failed"]).toContain(ended!.status);
    expect(await syncHandedOffRuns(db)).toBe(1);
    const [done] = await getScheduleHistory(db, s.id);
    expect(done.status).toBe(ended!.status === "completed" ? "succeeded" : "failed");
    expect(done.finished_at).not.toBeNull();
    expect((await getSchedule(db, s.id)).running).toBe(0);
  });

  it("a reconcile schedule hands its run to an import job of the source", async () => {
    const col = await db.prisma.collection.create({ data: { slug: "handbook", name: "Handbook" } });
    const upload = await db.prisma.source.create({ data: { collectionId: col.id, kind: "upload", name: "Uploads" } });
    const s3 = await db.prisma.source.create({ data: { collectionId: col.id, kind: "s3", name: "Policies bucket", config: { bucket: "policies" } } });
    const refused = await createSchedule(db, {
      name: "reconcile uploads",
      target: { kind: "notion_reconcile", config: { source_id: upload.id } },
      interval_minutes: 60,
    }).catch((e) => e);
    expect(refused.details).toEqual([
      { path: "target.config.source_id", message: "this upload source has nothing to reconcile (only Notion and S3 sources do)" },
    ]);

    const s = await createSchedule(db, { name: "hourly sync", target: { kind: "notion_reconcile", config: { source_id: s3.id } }, interval_minutes: 60 });
    expect(s.target.summary).toBe('Reconcile S3 source "Policies bucket"');
    const run = await runScheduleNow(db, s.id);
    await getExecutor(db).drain();
    const [handed] = await getScheduleHistory(db, s.id);
    expect(handed).toMatchObject({ id: run.id, status: "running", result: { kind: "import_job", id: expect.any(String) } });
    const job = await db.prisma.importJob.findUniqueOrThrow({ where: { id: handed.result!.id } });
    expect(job).toMatchObject({ sourceId: s3.id, status: "queued" });
    expect(await syncHandedOffRuns(db)).toBe(0); // still queued: the schedule run stays in progress
    expect((await getScheduleHistory(db, s.id))[0].status).toBe("running");
  });
});
