// Schedules as the API and the page see them: create, read, edit, enable/disable, delete, run now, history.
// All of it is for admins; every change is written to the audit log here. Input comes parsed by the route's
// zod schema (lib/schedules/rules.ts); what zod cannot check (the rule, the limits, the user, the target)
// is checked here. A schedule runs as a named user
// (`runAsUserId`, default: whoever creates it): its runs have that user's access, read at every run.
import { requireAdmin, type AccessContext } from "../access/context";
import { auditAs } from "../audit";
import type { Db } from "../db/client";
import { ConflictError, NotFoundError } from "../errors";
import { claimManualRun, defaultEngineOptions, getExecutor } from "./engine";
import { lastRunIds } from "./queries";
import { checkScheduleFields, nextRunAfter, type CreateScheduleInput, type ScheduleFields, type UpdateScheduleInput } from "./rules";
import { getTargetKind, getTargetKindForResult, listTargetKinds, type ScheduleLimits } from "./targets";
import type { RunView, ScheduleView, TargetChoices } from "./types";

export type { RunView, ScheduleView, TargetChoices } from "./types";

type ScheduleRow = NonNullable<Awaited<ReturnType<Db["prisma"]["schedule"]["findUnique"]>>>;
type RunRow = NonNullable<Awaited<ReturnType<Db["prisma"]["scheduleRun"]["findUnique"]>>>;

const iso = (d: Date | null) => (d ? d.toISOString() : null);

export function runView(r: RunRow): RunView {
  return {
    id: r.id,
    scheduleId: r.scheduleId,
    trigger: r.trigger as RunView["trigger"],
    status: r.status as RunView["status"],
    dueAt: iso(r.dueAt),
    startedAt: r.startedAt.toISOString(),
    finishedAt: iso(r.finishedAt),
    error: r.error,
    result: r.resultKind && r.resultId ? { kind: r.resultKind, id: r.resultId } : null,
    resumable: r.status === "stopped" && !!r.resultId && !!(r.resultKind && getTargetKindForResult(r.resultKind)?.resume),
  };
}

async function summarise(db: Db, s: ScheduleRow): Promise<ScheduleView["target"]> {
  const kind = getTargetKind(s.targetKind);
  const config = (s.targetConfig ?? {}) as Record<string, unknown>;
  if (!kind) return { kind: s.targetKind, label: s.targetKind, config, summary: "not available in this version" };
  let summary = kind.label;
  try {
    const parsed = kind.config.safeParse(config);
    if (parsed.success) summary = await kind.describe(parsed.data, db);
  } catch {
    /* a summary is a nicety; the list must still load */
  }
  return { kind: kind.kind, label: kind.label, config, summary };
}

async function views(db: Db, rows: ScheduleRow[]): Promise<ScheduleView[]> {
  if (rows.length === 0) return [];
  const ids = rows.map((r) => r.id);
  const running = await db.prisma.scheduleRun.groupBy({
    by: ["scheduleId"],
    where: { scheduleId: { in: ids }, status: "running" },
    _count: { _all: true },
  });
  const runningBy = new Map(running.map((r) => [r.scheduleId, r._count._all]));
  const last = await db.prisma.scheduleRun.findMany({ where: { id: { in: await lastRunIds(db.sql, ids) } } });
  const lastBy = new Map(last.map((r) => [r.scheduleId, r]));
  return Promise.all(
    rows.map(async (s) => ({
      id: s.id,
      name: s.name,
      enabled: s.enabled,
      target: await summarise(db, s),
      intervalMinutes: s.intervalMinutes,
      cron: s.cron,
      timeZone: s.timeZone,
      maxConcurrent: s.maxConcurrent,
      timeoutMinutes: s.timeoutMinutes,
      runAsUserId: s.runAsUserId,
      limits: { maxModelCalls: s.maxModelCalls, maxRetries: s.maxRetries, maxRuntimeSeconds: s.maxRuntimeSeconds },
      nextRunAt: iso(s.nextRunAt),
      lastRunAt: iso(s.lastRunAt),
      running: runningBy.get(s.id) ?? 0,
      lastRun: lastBy.has(s.id) ? runView(lastBy.get(s.id)!) : null,
      createdAt: s.createdAt.toISOString(),
      updatedAt: s.updatedAt.toISOString(),
    })),
  );
}

async function findRow(db: Db, id: string): Promise<ScheduleRow> {
  if (!/^[0-9a-f-]{36}$/i.test(id)) throw new NotFoundError("Schedule");
  const row = await db.prisma.schedule.findUnique({ where: { id } });
  if (!row) throw new NotFoundError("Schedule");
  return row;
}

function record(ctx: AccessContext, action: string, id: string, details: Record<string, unknown> = {}) {
  return auditAs(ctx, action, `schedule:${id}`, details);
}

export async function listSchedules(ctx: AccessContext): Promise<ScheduleView[]> {
  requireAdmin(ctx);
  const rows = await ctx.db.prisma.schedule.findMany({ orderBy: [{ name: "asc" }, { createdAt: "asc" }] });
  return views(ctx.db, rows);
}

export async function getSchedule(ctx: AccessContext, id: string): Promise<ScheduleView> {
  requireAdmin(ctx);
  return (await views(ctx.db, [await findRow(ctx.db, id)]))[0];
}

export async function createSchedule(ctx: AccessContext, b: CreateScheduleInput, now = new Date()): Promise<ScheduleView> {
  requireAdmin(ctx);
  const { db } = ctx;
  const f = await checkScheduleFields(
    {
      name: b.name,
      targetKind: b.target.kind,
      targetConfig: b.target.config,
      enabled: b.enabled,
      intervalMinutes: b.intervalMinutes ?? null,
      cron: b.cron ?? null,
      timeZone: b.timeZone,
      maxConcurrent: b.maxConcurrent,
      timeoutMinutes: b.timeoutMinutes,
      runAsUserId: b.runAsUserId ?? ctx.onBehalfOf,
      maxModelCalls: b.maxModelCalls,
      maxRetries: b.maxRetries,
      maxRuntimeSeconds: b.maxRuntimeSeconds,
    },
    db,
    now,
  );
  const next = f.enabled ? nextRunAfter({ ...f, anchorAt: now }, now) : null;
  const row = await db.prisma.schedule.create({
    data: {
      name: f.name,
      targetKind: f.targetKind,
      targetConfig: f.targetConfig as object,
      enabled: f.enabled,
      intervalMinutes: f.intervalMinutes,
      cron: f.cron,
      timeZone: f.timeZone,
      anchorAt: now,
      maxConcurrent: f.maxConcurrent,
      timeoutMinutes: f.timeoutMinutes,
      runAsUserId: f.runAsUserId,
      maxModelCalls: f.maxModelCalls,
      maxRetries: f.maxRetries,
      maxRuntimeSeconds: f.maxRuntimeSeconds,
      nextRunAt: next,
    },
  });
  const [view] = await views(db, [row]);
  await record(ctx, "schedule.create", row.id, { name: view.name, target: view.target.kind, runAsUserId: f.runAsUserId, limits: view.limits });
  return view;
}

export async function updateSchedule(ctx: AccessContext, id: string, p: UpdateScheduleInput, now = new Date()): Promise<ScheduleView> {
  requireAdmin(ctx);
  const { db } = ctx;
  const cur = await findRow(db, id);
  // Giving one kind of rule replaces the other; giving both is refused by the field check.
  let intervalMinutes = cur.intervalMinutes;
  let cron = cur.cron;
  if (p.intervalMinutes !== undefined && p.cron !== undefined) {
    intervalMinutes = p.intervalMinutes;
    cron = p.cron;
  } else if (p.intervalMinutes !== undefined) {
    intervalMinutes = p.intervalMinutes;
    if (p.intervalMinutes !== null) cron = null;
  } else if (p.cron !== undefined) {
    cron = p.cron;
    if (p.cron !== null) intervalMinutes = null;
  }
  const merged: ScheduleFields = {
    name: p.name ?? cur.name,
    targetKind: p.target?.kind ?? cur.targetKind,
    targetConfig: (p.target?.config ?? cur.targetConfig) as Record<string, unknown>,
    enabled: p.enabled ?? cur.enabled,
    intervalMinutes,
    cron,
    timeZone: p.timeZone ?? cur.timeZone,
    maxConcurrent: p.maxConcurrent ?? cur.maxConcurrent,
    timeoutMinutes: p.timeoutMinutes ?? cur.timeoutMinutes,
    runAsUserId: p.runAsUserId ?? cur.runAsUserId,
    maxModelCalls: p.maxModelCalls !== undefined ? p.maxModelCalls : cur.maxModelCalls,
    maxRetries: p.maxRetries !== undefined ? p.maxRetries : cur.maxRetries,
    maxRuntimeSeconds: p.maxRuntimeSeconds !== undefined ? p.maxRuntimeSeconds : cur.maxRuntimeSeconds,
  };
  const f = await checkScheduleFields(merged, db, now);
  const ruleChanged = f.intervalMinutes !== cur.intervalMinutes || f.cron !== cur.cron || f.timeZone !== cur.timeZone;
  const anchorAt = ruleChanged ? now : cur.anchorAt;
  let nextRunAt = cur.nextRunAt;
  if (!f.enabled) nextRunAt = null;
  else if (ruleChanged || !cur.enabled || nextRunAt == null) nextRunAt = nextRunAfter({ ...f, anchorAt }, now);
  const row = await db.prisma.schedule.update({
    where: { id },
    data: {
      name: f.name,
      targetKind: f.targetKind,
      targetConfig: f.targetConfig as object,
      enabled: f.enabled,
      intervalMinutes: f.intervalMinutes,
      cron: f.cron,
      timeZone: f.timeZone,
      anchorAt,
      maxConcurrent: f.maxConcurrent,
      timeoutMinutes: f.timeoutMinutes,
      runAsUserId: f.runAsUserId,
      maxModelCalls: f.maxModelCalls,
      maxRetries: f.maxRetries,
      maxRuntimeSeconds: f.maxRuntimeSeconds,
      nextRunAt,
    },
  });
  await record(ctx, "schedule.update", id, { fields: Object.keys(p), ...(p.runAsUserId ? { runAsUserId: p.runAsUserId } : {}) });
  return (await views(db, [row]))[0];
}

export async function setScheduleEnabled(ctx: AccessContext, id: string, enabled: boolean, now = new Date()): Promise<ScheduleView> {
  requireAdmin(ctx);
  const { db } = ctx;
  const cur = await findRow(db, id);
  let row = cur;
  // Re-enabling starts from now: due times missed while disabled are not made up.
  if (cur.enabled !== enabled) {
    row = await db.prisma.schedule.update({ where: { id }, data: { enabled, nextRunAt: enabled ? nextRunAfter(cur, now) : null } });
  }
  await record(ctx, enabled ? "schedule.enable" : "schedule.disable", id);
  return (await views(db, [row]))[0];
}

export async function deleteSchedule(ctx: AccessContext, id: string): Promise<void> {
  requireAdmin(ctx);
  await findRow(ctx.db, id);
  await ctx.db.prisma.schedule.delete({ where: { id } });
  await record(ctx, "schedule.delete", id);
}

export async function getScheduleHistory(ctx: AccessContext, id: string, opts: { limit?: number } = {}): Promise<RunView[]> {
  requireAdmin(ctx);
  await findRow(ctx.db, id);
  const rows = await ctx.db.prisma.scheduleRun.findMany({
    where: { scheduleId: id },
    orderBy: [{ startedAt: "desc" }, { id: "desc" }],
    take: Math.min(Math.max(opts.limit ?? 50, 1), 500),
  });
  return rows.map(runView);
}

/**
 * Starts a run now, through the same start function as the poll loop (same lock, same limits, same
 * run row with trigger "manual"). The work runs in this process, as the schedule's user (not as the
 * admin pressing the button); the returned run is still "running".
 */
export async function runScheduleNow(ctx: AccessContext, id: string): Promise<RunView> {
  requireAdmin(ctx);
  const { db } = ctx;
  const opts = defaultEngineOptions();
  const claimed = await claimManualRun(db, id, opts);
  void getExecutor(db, opts.deadRunSeconds).execute(claimed);
  const row = await db.prisma.scheduleRun.findUniqueOrThrow({ where: { id: claimed.runId } });
  await record(ctx, "schedule.run_now", id, { runId: row.id });
  return runView(row);
}

/**
 * Resumes a schedule run that stopped at a limit: the evaluation run or import it started goes on where
 * it stopped (its counts starting again), with the schedule's limits as they are now unless the request
 * gives others, and the schedule run is running again until that work ends. 409 unless the run is
 * stopped, or when what it stopped in cannot be resumed (start the schedule again instead).
 */
export async function resumeScheduleRun(ctx: AccessContext, scheduleId: string, runId: string, limits: Partial<ScheduleLimits> = {}): Promise<RunView> {
  requireAdmin(ctx);
  const { db } = ctx;
  const s = await findRow(db, scheduleId);
  const run = /^[0-9a-f-]{36}$/i.test(runId) ? await db.prisma.scheduleRun.findFirst({ where: { id: runId, scheduleId } }) : null;
  if (!run) throw new NotFoundError("Schedule run");
  if (run.status !== "stopped") throw new ConflictError(`This schedule run is ${run.status}; only a stopped run can be resumed.`);
  const kind = run.resultKind ? getTargetKindForResult(run.resultKind) : undefined;
  if (!kind?.resume || !run.resultId) {
    throw new ConflictError("This run stopped in work of its own, which cannot be picked up again; start the schedule again (Run now).");
  }
  const own: ScheduleLimits = { maxModelCalls: s.maxModelCalls, maxRetries: s.maxRetries, maxRuntimeSeconds: s.maxRuntimeSeconds };
  const given = Object.fromEntries(Object.entries(limits).filter(([, v]) => v !== undefined)) as Partial<ScheduleLimits>;
  // The work's own compare-and-set (stopped → queued) makes a double resume a 409; the work's resume reopens
  // this run (lib/evaluate/runs.ts, lib/ingest/import-jobs.ts), as it does when resumed from its own page.
  await kind.resume(run.resultId, ctx, { ...own, ...given });
  await record(ctx, "schedule.run_resume", scheduleId, { runId, result: { kind: run.resultKind, id: run.resultId }, limits: { ...own, ...given } });
  return runView(await db.prisma.scheduleRun.findUniqueOrThrow({ where: { id: runId } }));
}

/** What the schedule form offers: target kinds, the things they can point at, and the users to run as. */
export async function targetChoices(ctx: AccessContext): Promise<TargetChoices> {
  requireAdmin(ctx);
  const { db } = ctx;
  const [datasets, notionSources, users] = await Promise.all([
    db.prisma.dataset.findMany({ select: { id: true, name: true }, orderBy: { name: "asc" } }),
    db.prisma.source.findMany({ where: { kind: { in: ["notion", "s3"] } }, select: { id: true, name: true }, orderBy: { name: "asc" } }),
    db.prisma.user.findMany({ where: { disabledAt: null }, select: { id: true, email: true, role: true }, orderBy: { email: "asc" } }),
  ]);
  return { kinds: listTargetKinds(), users, datasets, notionSources, timeZones: ["UTC", ...Intl.supportedValuesOf("timeZone")] };
}

/** Who schedules run as, for the pages: e-mail, role and whether the user is disabled, by user id. */
export async function runAsUsers(ctx: AccessContext, schedules: Array<Pick<ScheduleView, "runAsUserId">>) {
  requireAdmin(ctx);
  const ids = [...new Set(schedules.map((s) => s.runAsUserId).filter((id): id is string => id !== null))];
  const users = await ctx.db.prisma.user.findMany({ where: { id: { in: ids } }, select: { id: true, email: true, role: true, disabledAt: true } });
  return new Map(users.map((u) => [u.id, { email: u.email, role: u.role, disabled: u.disabledAt !== null }]));
}
