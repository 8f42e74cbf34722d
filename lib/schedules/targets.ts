// What a schedule can run. Each kind validates its own settings, describes itself in one line for
// lists, starts its work and (for work that continues elsewhere, e.g. in the job queue) reports
// its status. Adding a kind = one more entry in TARGET_KINDS (end of file); nothing else in the scheduler changes.
import { z } from "zod";
import type { AccessContext } from "../access/context";
import type { Permission } from "../auth/roles";
import { backupStatus, startBackup } from "../backup";
import type { Db } from "../db/client";
import { isAppError } from "../errors";
import { evaluationRunStatus, resumeEvaluationRun, startEvaluationRun } from "../evaluate";
import { assertOutboundAllowed, describeOutboundFailure, OutboundBlockedError, outboundFetch } from "../http/outbound";
import { importJobView, resumeImportJob, startReconcile } from "../ingest";
import { sendDigest } from "../insights/digest";

export type ScheduleRunTrigger = "schedule" | "manual";

/** A schedule's circuit breakers (lib/usage/run-limits.ts): null keeps the RUN_MAX_* setting, 0 is no limit. */
export interface ScheduleLimits {
  maxModelCalls: number | null;
  maxRetries: number | null;
  maxRuntimeSeconds: number | null;
}

export interface TargetContext {
  db: Db;
  scheduleId: string;
  scheduleName: string;
  runId: string;
  trigger: ScheduleRunTrigger;
  dueAt: Date | null;
  /** The access of the user the schedule runs as, read when this run started. */
  access: AccessContext;
  /** The schedule's run limits: work handed off (an evaluation run, an import) takes them as its own. */
  limits: ScheduleLimits;
  /** Aborted when the scheduler stops; in-process work should give up. */
  signal: AbortSignal;
}

export type TargetOutcome =
  /** The work continues elsewhere; `status(resultId)` tells when it ends. */
  | { state: "started"; resultKind: string; resultId: string }
  | { state: "succeeded"; resultKind?: string; resultId?: string }
  | { state: "failed"; error: string; resultKind?: string; resultId?: string }
  /** The run's own work reached one of its limits ("stopped: limit reached (…)"). */
  | { state: "stopped"; error: string; resultKind?: string; resultId?: string };

export interface TargetStatus {
  /** stopped: the run it started reached a run limit (lib/usage/run-limits.ts) and waits to be resumed. */
  state: "running" | "succeeded" | "failed" | "stopped";
  error?: string;
}

export interface TargetKind<C = unknown> {
  kind: string;
  label: string;
  /** Validates `target.config`; error paths are reported under `target.config.`. */
  config: z.ZodType<C>;
  /** The permission the user a schedule runs as needs for this kind (checked when saved and at every run). */
  permission?: Permission;
  /**
   * Checks that need the database (does the dataset exist? may the schedule's user read it?); issues are
   * reported under `target.config.`. `runAs` is null when the schedule's user is itself invalid.
   */
  check?(config: C, env: { db: Db; runAs: AccessContext | null }): Promise<Array<{ path: string; message: string }>>;
  /** One line for lists ("Evaluation of dataset Support FAQ"). */
  describe(config: C, db: Db): Promise<string>;
  start(config: C, ctx: TargetContext): Promise<TargetOutcome>;
  /** For kinds whose work continues elsewhere: the result kind they hand off to, and how to ask about it. */
  resultKind?: string;
  status?(resultId: string, db: Db): Promise<TargetStatus>;
  /** For handed-off work that stopped at a limit: resumes it as `by` (409 unless stopped), with these limits. */
  resume?(resultId: string, by: AccessContext, limits: ScheduleLimits): Promise<void>;
}

/** Declares a kind with its config type inferred from its schema. */
function targetKind<C>(kind: TargetKind<C>): TargetKind<C> {
  return kind;
}

export function getTargetKind(kind: string): TargetKind<unknown> | undefined {
  return TARGET_KINDS.find((k) => k.kind === kind);
}

/** The kind that can report on a handed-off result (independent of later edits to the schedule's target). */
export function getTargetKindForResult(resultKind: string): TargetKind<unknown> | undefined {
  return TARGET_KINDS.find((k) => k.resultKind === resultKind && k.status);
}

export function listTargetKinds(): Array<{ kind: string; label: string }> {
  return TARGET_KINDS.map((k) => ({ kind: k.kind, label: k.label }));
}

/** Short, single-line error text for the run history: no stack, no payloads. */
export function errorSummary(err: unknown): string {
  const text = err instanceof Error ? `${err.name === "Error" ? "" : err.name + ": "}${err.message}` : String(err);
  const line = text.replace(/\s+/g, " ").trim();
  return line.length > 300 ? line.slice(0, 297) + "..." : line || "unknown error";
}

// ───────────────────────── webhook ─────────────────────────

const webhookConfig = z
  .object({
    url: z
      .string()
      .url({ message: "must be an http(s) URL" })
      .refine((u) => /^https?:$/.test(new URL(u).protocol), { message: "must be an http(s) URL" })
      .refine((u) => !new URL(u).username && !new URL(u).password, {
        message: "must not contain credentials (the URL is stored in clear)",
      }),
    timeoutSeconds: z.number().int().min(1).max(600).default(30),
  })
  .strict();

/**
 * POSTs a small JSON notice ({ event, schedule, run, trigger, dueAt }) to an admin-chosen URL — to kick
 * off work in another system, or to be told that time has come. 2xx = succeeded.
 */
const webhookTarget = targetKind({
  kind: "webhook",
  label: "Webhook (HTTP POST)",
  config: webhookConfig,
  async check(config) {
    // The SSRF guard (lib/http/outbound.ts): only addresses the administrator allowed (OUTBOUND_ALLOW).
    try {
      await assertOutboundAllowed(config.url, { field: "url" });
      return [];
    } catch (err) {
      if (!(err instanceof OutboundBlockedError)) throw err;
      const reason = (err.details as Array<{ message: string }> | undefined)?.[0]?.message ?? "not allowed";
      return [{ path: "url", message: `${reason} (an administrator can allow it with OUTBOUND_ALLOW)` }];
    }
  },
  async describe(config) {
    return `POST to ${new URL(config.url).host}`;
  },
  async start(config, ctx) {
    // The URL may carry a token in its path or query: messages name only the host.
    const host = new URL(config.url).host;
    try {
      const res = await outboundFetch(
        config.url,
        {
          method: "POST",
          headers: { "content-type": "application/json", "user-agent": "project-sot-scheduler" },
          body: JSON.stringify({
            event: "schedule.run",
            schedule: { id: ctx.scheduleId, name: ctx.scheduleName },
            run: { id: ctx.runId },
            trigger: ctx.trigger,
            dueAt: ctx.dueAt?.toISOString() ?? null,
          }),
          signal: ctx.signal,
          timeoutMs: config.timeoutSeconds * 1000,
        },
        { field: "url" },
      );
      await res.body?.cancel().catch(() => {});
      return res.ok
        ? { state: "succeeded", resultKind: "http_response", resultId: String(res.status) }
        : { state: "failed", error: `${host} answered HTTP ${res.status}`, resultKind: "http_response", resultId: String(res.status) };
    } catch (err) {
      if (err instanceof OutboundBlockedError) return { state: "failed", error: `${host} is not an allowed target (OUTBOUND_ALLOW)` };
      const name = (err as Error).name;
      if (name === "TimeoutError" || (name === "AbortError" && !ctx.signal.aborted)) return { state: "failed", error: `no answer from ${host} within ${config.timeoutSeconds} s` };
      // In the guard's words only: the socket's error text would tell which ports answer.
      return { state: "failed", error: describeOutboundFailure(err, host) };
    }
  },
});

// ───────────────────────── evaluation run ─────────────────────────

/** Runs a dataset's current version through the ask pipeline and the judge (lib/evaluate). */
const evaluationRunTarget = targetKind({
  kind: "evaluation_run",
  label: "Evaluation run",
  resultKind: "evaluation_run",
  permission: "score",
  config: z.object({ datasetId: z.string().uuid({ message: "must be a dataset id (UUID)" }) }).strict(),
  async check(config, { db, runAs }) {
    const ds = await db.prisma.dataset.findUnique({ where: { id: config.datasetId }, select: { collectionIds: true } });
    if (!ds) return [{ path: "datasetId", message: "no dataset has this id" }];
    if (runAs && !runAs.isAdmin && !ds.collectionIds.every((id) => runAs.readableIds.includes(id))) {
      return [{ path: "datasetId", message: `${runAs.principal.label}, whom this schedule runs as, may not read every collection of this dataset` }];
    }
    return [];
  },
  async describe(config, db) {
    const ds = await db.prisma.dataset.findUnique({ where: { id: config.datasetId }, select: { name: true } });
    return ds ? `Evaluation of dataset "${ds.name}"` : "Evaluation of a deleted dataset";
  },
  async start(config, ctx) {
    // As the schedule's user: the run asks with their access (re-read by the run's job when it works).
    try {
      const r = await startEvaluationRun(ctx.access, {
        datasetId: config.datasetId,
        trigger: ctx.trigger === "manual" ? "manual" : "schedule",
        scheduleRunId: ctx.runId,
        ...ctx.limits,
      });
      return { state: "started", resultKind: r.kind, resultId: r.id };
    } catch (err) {
      if (isAppError(err) && err.status === 404) {
        return { state: "failed", error: `the dataset does not exist, or ${ctx.access.principal.label} (whom this schedule runs as) may not read every collection of it` };
      }
      throw err;
    }
  },
  async status(id, db) {
    const run = await evaluationRunStatus(db, id);
    if (!run) return { state: "failed", error: "the evaluation run no longer exists" };
    if (run.status === "completed") return { state: "succeeded" };
    if (run.status === "failed") return { state: "failed", error: errorSummary(run.error ?? "the evaluation run failed") };
    if (run.status === "stopped") return { state: "stopped", error: `${errorSummary(run.error ?? "stopped: limit reached")}; resume it on this page` };
    return { state: "running" };
  },
  async resume(id, by, limits) {
    await resumeEvaluationRun(by, id, limits);
  },
});

// ───────────────────────── source reconcile ─────────────────────────

/** A full re-sync of a Notion (or S3) source: catches what webhooks missed, removes what is gone (lib/ingest). */
const notionReconcileTarget = targetKind({
  kind: "notion_reconcile",
  label: "Source reconcile (Notion or S3)",
  resultKind: "import_job",
  permission: "import",
  config: z.object({ sourceId: z.string().uuid({ message: "must be a source id (UUID)" }) }).strict(),
  async check(config, { db }) {
    const src = await db.prisma.source.findUnique({ where: { id: config.sourceId }, select: { kind: true } });
    if (!src) return [{ path: "sourceId", message: "no source has this id" }];
    if (src.kind !== "notion" && src.kind !== "s3") return [{ path: "sourceId", message: `this ${src.kind} source has nothing to reconcile (only Notion and S3 sources do)` }];
    return [];
  },
  async describe(config, db) {
    const src = await db.prisma.source.findUnique({ where: { id: config.sourceId }, select: { name: true, kind: true } });
    return src ? `Reconcile ${src.kind === "s3" ? "S3" : "Notion"} source "${src.name}"` : "Reconcile of a deleted source";
  },
  async start(config, ctx) {
    const r = await startReconcile(ctx.db, { sourceId: config.sourceId, trigger: ctx.trigger, limits: ctx.limits, scheduleRunId: ctx.runId });
    return { state: "started", resultKind: r.kind, resultId: r.id };
  },
  async status(id, db) {
    const job = await importJobView(db, id).catch(() => null);
    if (!job) return { state: "failed", error: "the import job no longer exists" };
    if (job.status === "succeeded") return { state: "succeeded" };
    if (job.status === "failed") return { state: "failed", error: errorSummary(job.error ?? "the import job failed") };
    if (job.status === "stopped") return { state: "stopped", error: `${errorSummary(job.error ?? "stopped: limit reached")}; resume it on this page` };
    return { state: "running" };
  },
  async resume(id, by, limits) {
    await resumeImportJob(by, id, limits);
  },
});

// ───────────────────────── backup ─────────────────────────

/** An encrypted backup to the configured target (lib/backup). */
const backupTarget = targetKind({
  kind: "backup",
  label: "Encrypted backup",
  resultKind: "backup",
  permission: "admin",
  config: z.object({}).strict(),
  async describe() {
    return "Encrypted backup of the database";
  },
  async start(_config, ctx) {
    const b = await startBackup(ctx.access, { trigger: ctx.trigger, scheduleRunId: ctx.runId });
    return { state: "started", resultKind: "backup", resultId: b.id };
  },
  async status(id, db) {
    const b = await backupStatus(db, id);
    if (!b) return { state: "failed", error: "the backup record no longer exists" };
    if (b.status === "succeeded") return { state: "succeeded" };
    if (b.status === "failed") return { state: "failed", error: errorSummary(b.error ?? "the backup failed") };
    return { state: "running" };
  },
});

// ───────────────────────── digest ─────────────────────────

/**
 * The Insights figures of the last day or week, with the access of the user the schedule runs as, sent
 * to every notification target that takes digests (counts and a link only).
 */
const digestTarget = targetKind({
  kind: "digest",
  label: "Digest (daily or weekly figures to notification targets)",
  permission: "score",
  config: z.object({ period: z.enum(["daily", "weekly"], { message: 'must be "daily" or "weekly"' }) }).strict(),
  async describe(config) {
    return `${config.period === "weekly" ? "Weekly" : "Daily"} digest to notification targets`;
  },
  async start(config, ctx) {
    const r = await sendDigest(ctx.access, config.period);
    return { state: "succeeded", resultKind: "notification_deliveries", resultId: String(r.deliveries) };
  },
});

/** Every kind a schedule can run, in the order forms list them. Adding a kind = one entry here. */
export const TARGET_KINDS: ReadonlyArray<TargetKind<any>> = [webhookTarget, evaluationRunTarget, notionReconcileTarget, backupTarget, digestTarget];
