// Import jobs: one run of a source (Notion, S3, the demo wiki) as a resumable, observable unit.
//
// A job works through items in import_job_items. "container" items (a Notion page or data source
// whose children are still to be listed, the root of a bucket) are expanded first — the discover
// phase — and produce "page" items, which are fetched and ingested in groups — the fetch phase. Item
// state is committed as work progresses, so a job that crashes (worker killed, machine restarted) is
// picked up by the queue's retry and continues with what is still pending. One failing item is
// recorded with its error and never stops the job; a page imported with something left out carries a
// warning instead. Only a walk of the whole source ("full", "reconcile", "s3_sync") removes documents:
// a partial import ("partial", "pages") adds and updates, and never removes anything. A whole walk
// ends by removing documents the source no longer has: a driver with `finalize` confirms each one
// with the source; without it, nothing is removed when discovery failed somewhere (absence proves
// nothing then). Every model call of a job is recorded for it in the usage ledger and counted against its
// run limits (lib/usage/run-limits.ts): reaching one ends the job as "stopped" (resumable), never failed.
import { assertReadable, assertWritable, type AccessContext } from "../access/context";
import { auditAs } from "../audit";
import { getDb, type Db } from "../db/client";
import { ConflictError, NotFoundError, ValidationError } from "../errors";
import { defineJob, enqueue } from "../jobs/queue";
import { trackedRuns } from "../jobs/tracked-run";
import type { Llm } from "../llm";
import { log } from "../log";
import { notify } from "../notify";
import { flushUsage } from "../usage/meter";
import { effectiveLimits, RunLimiter } from "../usage/run-limits";
import { systemUsageScope, withUsage } from "../usage/scope";
import { requestBackfill } from "./backfill";
import { isWholeSourceWalk, type DiscoveredItem, type ImportKind, type ItemKind, type JobContextForDriver } from "./driver";
import { driverFor } from "./drivers";
import { normalizeNotionId } from "./notion";
import { ingestDocuments, removeMissing, softDeleteDocuments, type SourceDocument } from "./pipeline";
import { withBulkVectorIndex } from "./vector-index";
import { reopenStoppedRunOf } from "../schedules/queries";
import type { ImportJobSummary, ImportJobView } from "./types";

const ABANDONED_AFTER_MS = 30 * 60_000;
const runs = trackedRuns("import");

export type { ImportJobSummary, ImportJobView } from "./types";

/** A job row as the API and pages show it (times as ISO strings). */
export function importJobSummary(j: {
  id: string; sourceId: string; kind: string; status: string; trigger: string; phase: string; found: number; done: number; failed: number;
  unchanged: number; removed: number; warnings: number; embeddedChunks: number; error: string | null; startedAt: Date | null; finishedAt: Date | null; createdAt: Date;
}): ImportJobSummary {
  return {
    id: j.id,
    sourceId: j.sourceId,
    kind: j.kind,
    status: j.status,
    trigger: j.trigger,
    phase: j.phase,
    found: j.found,
    done: j.done,
    failed: j.failed,
    unchanged: j.unchanged,
    removed: j.removed,
    warnings: j.warnings,
    embeddedChunks: j.embeddedChunks,
    error: j.error,
    startedAt: j.startedAt?.toISOString() ?? null,
    finishedAt: j.finishedAt?.toISOString() ?? null,
    createdAt: j.createdAt.toISOString(),
  };
}

export async function createImportJob(
  db: Db,
  input: {
    sourceId: string;
    kind: ImportKind;
    trigger?: string;
    options?: Record<string, unknown>;
    seeds?: DiscoveredItem[];
    /** Run limits (default: the RUN_MAX_* settings): a schedule's, when a schedule starts it. */
    limits?: { maxModelCalls?: number | null; maxRetries?: number | null; maxRuntimeSeconds?: number | null };
    /** The schedule run that starts it, if a schedule does. */
    scheduleRunId?: string | null;
  },
): Promise<{ id: string }> {
  const source = await db.prisma.source.findUnique({ where: { id: input.sourceId } });
  if (!source) throw new NotFoundError("Source");
  if (!driverFor(source)) throw new ValidationError(`Source kind ${source.kind} cannot be imported as a job.`);
  let running = await db.prisma.importJob.findFirst({ where: { sourceId: input.sourceId, status: { in: ["queued", "running"] } } });
  // A job that made no progress for this long lost its worker for good (its queue job is gone):
  // it must not block the source forever.
  if (running && Date.now() - running.updatedAt.getTime() > ABANDONED_AFTER_MS) {
    await failImportJob(db, running.id, "abandoned: no progress for 30 minutes (its worker stopped)");
    running = null;
  }
  // A partial import may run beside another job; two whole-source walks may not.
  if (running && isWholeSourceWalk(input.kind)) {
    throw new ConflictError(`An import of this source is already ${running.status} (job ${running.id}).`, { jobId: running.id });
  }
  const job = await db.prisma.importJob.create({
    data: {
      sourceId: input.sourceId,
      kind: input.kind,
      trigger: input.trigger ?? "manual",
      options: (input.options ?? {}) as object,
      maxModelCalls: input.limits?.maxModelCalls ?? null,
      maxRetries: input.limits?.maxRetries ?? null,
      maxRuntimeSeconds: input.limits?.maxRuntimeSeconds ?? null,
      scheduleRunId: input.scheduleRunId ?? null,
    },
  });
  if (input.seeds?.length) await addItems(db, job.id, input.seeds);
  return { id: job.id };
}

async function addItems(db: Db, jobId: string, items: DiscoveredItem[]): Promise<void> {
  if (items.length === 0) return;
  await db.prisma.importJobItem.createMany({
    data: items.map((i) => ({ jobId, externalId: i.externalId, kind: i.kind, title: i.title ?? null, breadcrumb: i.breadcrumb ?? [] })),
    skipDuplicates: true,
  });
}

/** A job's view with its failures and warnings, for workers and jobs (callers with a person use getImportJob). */
export async function importJobView(db: Db, id: string): Promise<ImportJobView> {
  const job = await db.prisma.importJob.findUnique({ where: { id } });
  if (!job) throw new NotFoundError("Import job");
  const failures = await db.prisma.importJobItem.findMany({
    where: { jobId: id, status: "failed" },
    select: { externalId: true, title: true, error: true },
    take: 100,
  });
  const warned = await db.prisma.importJobItem.findMany({
    where: { jobId: id, kind: "page", warning: { not: null } },
    select: { externalId: true, title: true, warning: true },
    orderBy: { externalId: "asc" },
    take: 100,
  });
  return { ...importJobSummary(job), failures, warningItems: warned.map((w) => ({ externalId: w.externalId, title: w.title, warning: w.warning! })) };
}

/** Recomputes the counters shown on the Sources page from the items. */
async function refreshCounts(db: Db, jobId: string, extra: { embeddedChunks?: number; removed?: number; phase?: string } = {}) {
  const rows = await db.prisma.importJobItem.groupBy({ by: ["status"], where: { jobId, kind: "page" }, _count: { _all: true } });
  const n = (s: string) => rows.find((r) => r.status === s)?._count._all ?? 0;
  const found = rows.reduce((a, r) => a + r._count._all, 0);
  const warnings = await db.prisma.importJobItem.count({ where: { jobId, kind: "page", warning: { not: null } } });
  await db.prisma.importJob.update({
    where: { id: jobId },
    data: {
      found,
      done: n("done") + n("unchanged"),
      unchanged: n("unchanged"),
      failed: n("failed"),
      warnings,
      ...(extra.embeddedChunks ? { embeddedChunks: { increment: extra.embeddedChunks } } : {}),
      ...(extra.removed !== undefined ? { removed: extra.removed } : {}),
      ...(extra.phase ? { phase: extra.phase } : {}),
    },
  });
}

export interface RunOptions {
  llm?: Pick<Llm, "embed" | "models">;
  /** Documents per pipeline call (embedding batches span documents). */
  groupSize?: number;
  signal?: AbortSignal;
  /** Called after each group (tests use it to simulate a crash mid-job). */
  onProgress?: (job: { id: string; done: number }) => void | Promise<void>;
}

/** Runs (or resumes) an import job to its end. Safe to call again after a crash. */
export async function runImportJob(db: Db, jobId: string, opts: RunOptions = {}): Promise<ImportJobView> {
  const job = await db.prisma.importJob.findUnique({ where: { id: jobId }, include: { source: true } });
  if (!job) throw new NotFoundError("Import job");
  if (job.status === "succeeded" || job.status === "failed" || job.status === "stopped") return importJobView(db, jobId);
  const driver = driverFor(job.source);
  if (!driver) throw new ValidationError(`No import driver for source kind ${job.source.kind}.`);
  const ctx: JobContextForDriver = {
    db,
    job: { id: job.id, kind: job.kind, options: (job.options ?? {}) as Record<string, unknown> },
    source: {
      id: job.source.id,
      collectionId: job.source.collectionId,
      config: (job.source.config ?? {}) as Record<string, unknown>,
      secretCiphertext: job.source.secretCiphertext,
    },
  };
  // Resumable: a queue retry after the worker died takes the job that is still "running" and continues.
  if (!(await runs.claim(db.sql, jobId, { resume: true, set: { error: null } }))) return importJobView(db, jobId);
  await db.prisma.source.update({ where: { id: job.source.id }, data: { status: "importing" } });

  // Every model call of the import (its embeddings) is recorded for it and counted against its limits.
  const limiter = new RunLimiter(effectiveLimits({ maxModelCalls: job.maxModelCalls, maxRetries: job.maxRetries, maxRuntimeSeconds: job.maxRuntimeSeconds }));
  limiter.modelCalls = job.modelCalls;
  limiter.retries = job.retries;
  // Started by a schedule: its model calls are that schedule's too.
  const scheduleId = job.scheduleRunId ? ((await db.prisma.scheduleRun.findUnique({ where: { id: job.scheduleRunId }, select: { scheduleId: true } }))?.scheduleId ?? null) : null;
  const scope = systemUsageScope(db, { importJobId: jobId, scheduleId, label: `import of source ${job.source.name}`, limiter });
  const counters = () => ({ model_calls: limiter.modelCalls, retries: limiter.retries });
  const limitReached = () => {
    try {
      limiter.check();
      return false;
    } catch {
      return true;
    }
  };
  const importWork = async (): Promise<void> => {
    try {
      // Seeds are added once; a resumed job already has them.
      if ((await db.prisma.importJobItem.count({ where: { jobId } })) === 0) {
        await addItems(db, jobId, await driver.seeds(ctx));
        await refreshCounts(db, jobId, { phase: "discover" });
      }

      // Discover: expand containers until none is pending.
      for (;;) {
        opts.signal?.throwIfAborted();
        const containers = await db.prisma.importJobItem.findMany({ where: { jobId, kind: "container", status: "pending" }, take: 20 });
        if (containers.length === 0) break;
        for (const c of containers) {
          const item = { externalId: c.externalId, kind: "container" as const, title: c.title, breadcrumb: c.breadcrumb };
          try {
            await addItems(db, jobId, await driver.expand(ctx, item));
            await markItems(db, jobId, "container", [c.externalId], "done");
          } catch (err) {
            await markItems(db, jobId, "container", [c.externalId], "failed", (err as Error).message);
          }
        }
        await refreshCounts(db, jobId, { phase: "discover" });
      }

      // Fetch and ingest pages in groups. A large first import into a (near) empty database writes without
      // the HNSW index and builds it once at the end (lib/ingest/vector-index.ts).
      const pendingPages = await db.prisma.importJobItem.count({ where: { jobId, kind: "page", status: "pending" } });
      await withBulkVectorIndex(db, pendingPages, async () => {
        const groupSize = opts.groupSize ?? 16;
        const concurrency = driver.concurrency ?? 4;
        for (;;) {
          opts.signal?.throwIfAborted();
          if (limitReached()) break;
          const pages = await db.prisma.importJobItem.findMany({
            where: { jobId, kind: "page", status: "pending" },
            orderBy: { externalId: "asc" },
            take: groupSize,
          });
          if (pages.length === 0) break;
          const fetched = await mapLimit(pages, concurrency, async (p) => {
            try {
              return { id: p.externalId, result: await driver.fetch(ctx, { externalId: p.externalId, kind: "page", title: p.title, breadcrumb: p.breadcrumb }) };
            } catch (err) {
              return { id: p.externalId, error: (err as Error).message };
            }
          });
          const docs: SourceDocument[] = [];
          const deleted: string[] = [];
          for (const f of fetched) {
            if ("error" in f) await markItems(db, jobId, "page", [f.id], "failed", f.error);
            else if ("deleted" in f.result) deleted.push(f.id);
            else if ("skipped" in f.result) await markItems(db, jobId, "page", [f.id], "done", undefined, f.result.warning);
            else {
              const { warnings, ...doc } = f.result;
              if (warnings?.length) await setWarning(db, jobId, f.id, warnings.join("; "));
              docs.push(doc);
            }
          }
          if (deleted.length) {
            // Gone at the source. Only a whole-source walk removes; a partial import leaves it to one.
            if (isWholeSourceWalk(job.kind)) {
              await softDeleteDocuments(db, ctx.source.id, deleted);
              await markItems(db, jobId, "page", deleted, "done");
            } else {
              await markItems(db, jobId, "page", deleted, "done", undefined, "gone at the source (deleted or in the trash): a full sync removes it");
            }
          }
          const result = await ingestDocuments(db, { sourceId: ctx.source.id, collectionId: ctx.source.collectionId }, docs, { llm: opts.llm });
          for (const o of result.outcomes) {
            if (o.status === "failed") await markItems(db, jobId, "page", [o.externalId], "failed", o.error);
            else await markItems(db, jobId, "page", [o.externalId], o.status === "unchanged" ? "unchanged" : "done");
          }
          for (const f of fetched) if ("error" in f) limiter.failedAttempt();
          for (const o of result.outcomes) if (o.status === "failed") limiter.failedAttempt();
          if (result.pendingChunks > 0) await requestBackfill();
          await refreshCounts(db, jobId, { embeddedChunks: result.embeddedChunks, phase: "fetch" });
          await runs.progress(db.sql, jobId, counters());
          await opts.onProgress?.({ id: jobId, done: await db.prisma.importJobItem.count({ where: { jobId, kind: "page", status: { not: "pending" } } }) });
        }
      });

      if (limiter.reached) {
        // Not a failure: the import ends as stopped, its pending pages kept for a resume (never finalized
        // half-way, so nothing is removed for pages it did not get to).
        await runs.stop(db.sql, jobId, limiter.stopMessage!, counters());
        await db.prisma.source.update({ where: { id: ctx.source.id }, data: { status: "idle", lastError: limiter.stopMessage } });
        log("warn", "import stopped at its limit", { jobId, reason: limiter.reached });
        return;
      }

      // Finalize: a whole-source walk removes what the source no longer has.
      let removed = 0;
      if (isWholeSourceWalk(job.kind)) {
        await refreshCounts(db, jobId, { phase: "finalize" });
        const failedContainers = await db.prisma.importJobItem.count({ where: { jobId, kind: "container", status: "failed" } });
        const seen = await db.prisma.importJobItem.findMany({ where: { jobId, kind: "page" }, select: { externalId: true } });
        const ids = seen.map((s) => s.externalId);
        if (driver.finalize) {
          removed = await driver.finalize(ctx, ids, failedContainers);
        } else if (failedContainers === 0) {
          removed = await removeMissing(db, ctx.source.id, ids);
        } else {
          log("warn", "import: some containers could not be listed; nothing removed", { jobId, failedContainers });
        }
      }
      await refreshCounts(db, jobId, { removed, phase: "finalize" });
      await runs.succeed(db.sql, jobId);
      await db.prisma.source.update({ where: { id: ctx.source.id }, data: { status: "idle", lastSyncAt: new Date(), lastError: null } });
      await driver.finished?.(ctx);
    } catch (err) {
      const message = (err as Error).message;
      // Leave the job "running" so a retry resumes it; the queue marks it failed after its last retry.
      await db.prisma.importJob.update({ where: { id: jobId }, data: { error: message } });
      await db.prisma.source.update({ where: { id: ctx.source.id }, data: { lastError: message } });
      throw err;
    }
  };
  try {
    await withUsage(scope, importWork);
  } finally {
    await flushUsage(); // the import's ledger rows are in before it is reported finished
  }
  return importJobView(db, jobId);
}

/**
 * Resumes an import that stopped at a limit: its pending pages are imported, counts starting from zero
 * and, when given, with new limits. Needs the import permission on the source's collection.
 */
export async function resumeImportJob(
  ctx: AccessContext,
  id: string,
  limits: { maxModelCalls?: number | null; maxRetries?: number | null; maxRuntimeSeconds?: number | null } = {},
): Promise<ImportJobView> {
  const job = await ctx.db.prisma.importJob.findUnique({ where: { id }, include: { source: { select: { collectionId: true } } } });
  if (!job || !ctx.readableIds.includes(job.source.collectionId)) throw new NotFoundError("Import job");
  assertWritable(ctx, job.source.collectionId);
  if (job.status !== "stopped") throw new ConflictError(`Import job ${id} is ${job.status}; only a stopped import can be resumed.`);
  const set: Record<string, number | null> = { model_calls: 0, retries: 0 };
  if (limits.maxModelCalls !== undefined) set.max_model_calls = limits.maxModelCalls;
  if (limits.maxRetries !== undefined) set.max_retries = limits.maxRetries;
  if (limits.maxRuntimeSeconds !== undefined) set.max_runtime_seconds = limits.maxRuntimeSeconds;
  if (!(await runs.reopen(ctx.db.sql, id, set))) throw new ConflictError(`Import job ${id} was resumed already.`);
  // A schedule run that stopped with it follows it again, wherever the resume came from.
  await reopenStoppedRunOf(ctx.db.sql, "import_job", id);
  await enqueueImport(ctx.db, id);
  await auditAs(ctx, "import.resume", `source:${job.sourceId}`, { jobId: id, ...limits });
  return importJobView(ctx.db, id);
}

/** Marks a job failed for good (after the queue's last retry). */
export async function failImportJob(db: Db, jobId: string, error: string): Promise<void> {
  const job = await db.prisma.importJob.findUnique({ where: { id: jobId }, select: { sourceId: true, trigger: true, done: true, failed: true } });
  if (!job || !(await runs.fail(db.sql, jobId, error))) return;
  await db.prisma.source.update({ where: { id: job.sourceId }, data: { status: "error", lastError: error } });
  const trigger = (["manual", "schedule", "webhook", "seed"] as const).find((t) => t === job.trigger) ?? "manual";
  await notify({ kind: "import.failed", importJobId: jobId, sourceId: job.sourceId, done: job.done, failed: job.failed, trigger }, { db });
}

async function markItems(db: Db, jobId: string, kind: ItemKind, ids: string[], status: string, error?: string, warning?: string) {
  await db.prisma.importJobItem.updateMany({
    where: { jobId, kind, externalId: { in: ids } },
    data: { status, error: error ? error.slice(0, 1000) : null, ...(warning ? { warning: warning.slice(0, 1000) } : {}), updatedAt: new Date() },
  });
}

async function setWarning(db: Db, jobId: string, externalId: string, warning: string) {
  await db.prisma.importJobItem.updateMany({ where: { jobId, kind: "page", externalId }, data: { warning: warning.slice(0, 1000) } });
}

async function mapLimit<T, R>(items: T[], limit: number, fn: (t: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i]);
      }
    }),
  );
  return out;
}

const IMPORT_RETRIES = 3;

/** Runs or resumes one import job in a worker (ingest.import). */
export const importJob = defineJob<{ jobId: string }>({
  name: "ingest.import",
  retryLimit: IMPORT_RETRIES,
  retryDelaySeconds: 10,
  expireInSeconds: 6 * 3600,
  concurrency: 2,
  async handler({ jobId }, ctx) {
    const db = await getDb();
    try {
      await runImportJob(db, jobId, { signal: ctx.signal });
    } catch (err) {
      // The retry resumes from the items already done; after the last one the job is failed for good.
      if (ctx.retryCount >= IMPORT_RETRIES) await failImportJob(db, jobId, (err as Error).message);
      throw err;
    }
  },
});

// A worker that dies mid-import stops sending heartbeats; pg-boss then retries the job within a minute
// or so, and the retry resumes from the items already done (instead of waiting for the expiry).
const IMPORT_SEND_OPTIONS = { heartbeatSeconds: 60 };

/**
 * Starts an import of a Notion source and queues it. Without pages or data sources: a full sync (the
 * whole source; it alone removes what is gone). With them: a partial import of those pages (and what is
 * beneath them) and data sources, which adds and updates and never removes anything.
 */
export async function startNotionImport(
  db: Db,
  input: { sourceId: string; pageIds?: string[]; dataSourceIds?: string[]; trigger?: string },
): Promise<{ kind: "import_job"; id: string }> {
  const source = await db.prisma.source.findUnique({ where: { id: input.sourceId } });
  if (!source || source.kind !== "notion") throw new NotFoundError("Notion source");
  const options: Record<string, unknown> = {};
  if (input.pageIds?.length) options.pageIds = input.pageIds.map(normalizeNotionId);
  if (input.dataSourceIds?.length) options.dataSourceIds = input.dataSourceIds.map(normalizeNotionId);
  const kind: ImportKind = options.pageIds || options.dataSourceIds ? "partial" : "full";
  const { id } = await createImportJob(db, { sourceId: source.id, kind, trigger: input.trigger ?? "manual", options });
  await enqueueImport(db, id);
  return { kind: "import_job", id };
}

/** A full re-sync of a source (Notion or S3): catches what webhooks missed, removes what is gone. */
export async function startReconcile(
  db: Db,
  input: { sourceId: string; trigger?: string; limits?: { maxModelCalls?: number | null; maxRetries?: number | null; maxRuntimeSeconds?: number | null }; scheduleRunId?: string | null },
): Promise<{ kind: "import_job"; id: string }> {
  const source = await db.prisma.source.findUnique({ where: { id: input.sourceId } });
  if (!source) throw new NotFoundError("Source");
  const { id } = await createImportJob(db, {
    sourceId: input.sourceId,
    kind: source.kind === "s3" ? "s3_sync" : "reconcile",
    trigger: input.trigger ?? "schedule",
    limits: input.limits,
    scheduleRunId: input.scheduleRunId,
  });
  await enqueueImport(db, id);
  return { kind: "import_job", id };
}

/** Queues a created import job; a job that cannot be queued is failed at once rather than left waiting. */
async function enqueueImport(db: Db, jobId: string): Promise<void> {
  try {
    await enqueue(importJob, { jobId }, IMPORT_SEND_OPTIONS);
  } catch (err) {
    await failImportJob(db, jobId, `Could not queue the import: ${(err as Error).message}`);
    throw err;
  }
}

/**
 * Someone who may import into the source's collection starts an import: a Notion source's full sync (or a
 * partial import of pages / data sources), another source's re-sync. Queued and audited; returns the job.
 */
export async function startImport(ctx: AccessContext, input: { sourceId: string; pageIds?: string[]; dataSourceIds?: string[] }): Promise<ImportJobView> {
  const source = await ctx.db.prisma.source.findUnique({ where: { id: input.sourceId } });
  if (!source) throw new NotFoundError("Source");
  assertWritable(ctx, source.collectionId);
  const job =
    source.kind === "notion"
      ? await startNotionImport(ctx.db, { sourceId: source.id, pageIds: input.pageIds, dataSourceIds: input.dataSourceIds, trigger: "manual" })
      : await startReconcile(ctx.db, { sourceId: source.id, trigger: "manual" });
  await auditAs(ctx, "import.start", `source:${source.id}`, { jobId: job.id });
  return importJobView(ctx.db, job.id);
}

/** An import job's progress, for someone who may read its source's collection. */
export async function getImportJob(ctx: AccessContext, id: string): Promise<ImportJobView> {
  const job = await importJobView(ctx.db, id);
  const source = await ctx.db.prisma.source.findUniqueOrThrow({ where: { id: job.sourceId }, select: { collectionId: true } });
  assertReadable(ctx, source.collectionId);
  return job;
}
