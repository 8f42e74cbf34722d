// Schedule input (API/page) → validated fields, and a schedule's rule → its next run time.
import { z } from "zod";
import { getConfig } from "../config";
import { accessContextFor, can, principalOfUser, type AccessContext } from "../access/context";
import type { Db } from "../db/client";
import { ValidationError, zodIssuesToDetails } from "../errors";
import { canonicalTimeZone, CronSyntaxError, nextCronRun, nextIntervalRun, parseCron } from "./cron";
import { getTargetKind, listTargetKinds } from "./targets";

export interface Rule {
  intervalMinutes: number | null;
  cron: string | null;
  timeZone: string;
  anchorAt: Date;
}

/** The first run time strictly after `after`; null when a cron rule never fires again. */
export function nextRunAfter(rule: Rule, after: Date): Date | null {
  if (rule.intervalMinutes != null) {
    return new Date(nextIntervalRun(rule.anchorAt.getTime(), rule.intervalMinutes, after.getTime()));
  }
  const next = nextCronRun(parseCron(rule.cron!), rule.timeZone, after.getTime());
  return next == null ? null : new Date(next);
}

const MAX_INTERVAL = 527040; // 366 days

const fields = {
  name: z.string().trim().min(1, { message: "is required" }).max(200, { message: "must be at most 200 characters" }),
  target: z
    .object({
      kind: z.string().min(1, { message: "is required" }),
      config: z.record(z.string(), z.unknown()).default({}),
    })
    .strict(),
  enabled: z.boolean(),
  intervalMinutes: z
    .number({ message: "must be a whole number of minutes" })
    .int({ message: "must be a whole number of minutes" })
    .min(1, { message: "must be at least 1" })
    .max(MAX_INTERVAL, { message: `must be at most ${MAX_INTERVAL} (366 days)` })
    .nullable(),
  cron: z.string().trim().min(1, { message: "must not be empty" }).max(200).nullable(),
  timeZone: z.string().trim().min(1),
  maxConcurrent: z
    .number({ message: "must be a whole number" })
    .int({ message: "must be a whole number" })
    .min(1, { message: "must be at least 1" })
    .max(100, { message: "must be at most 100" }),
  timeoutMinutes: z
    .number({ message: "must be a whole number of minutes" })
    .int({ message: "must be a whole number of minutes" })
    .min(1, { message: "must be at least 1" })
    .max(10080, { message: "must be at most 10080 (7 days)" }),
  /** The user whose access the schedule's runs have; default: whoever creates the schedule. */
  runAsUserId: z.string().uuid({ message: "must be a user id (UUID)" }),
  // Circuit breakers for the work each run starts (lib/usage/run-limits.ts): null keeps the RUN_MAX_*
  // setting, 0 means no limit.
  maxModelCalls: limit("model calls", 100_000_000),
  maxRetries: limit("retries", 1_000_000),
  maxRuntimeSeconds: limit("seconds", 30 * 86400),
};

function limit(what: string, max: number) {
  return z
    .number({ message: `must be a whole number of ${what} (0: no limit, null: the default)` })
    .int({ message: `must be a whole number of ${what} (0: no limit, null: the default)` })
    .min(0, { message: "must be 0 (no limit) or more" })
    .max(max, { message: `must be at most ${max}` })
    .nullable();
}

export const createScheduleBody = z
  .object({
    name: fields.name,
    target: fields.target,
    enabled: fields.enabled.default(true),
    intervalMinutes: fields.intervalMinutes.optional(),
    cron: fields.cron.optional(),
    timeZone: fields.timeZone.default("UTC"),
    maxConcurrent: fields.maxConcurrent.default(1),
    timeoutMinutes: fields.timeoutMinutes.default(240),
    runAsUserId: fields.runAsUserId.optional(),
    maxModelCalls: fields.maxModelCalls.default(null),
    maxRetries: fields.maxRetries.default(null),
    maxRuntimeSeconds: fields.maxRuntimeSeconds.default(null),
  })
  .strict();
/** A create body as the route's schema leaves it (defaults applied): what createSchedule takes. */
export type CreateScheduleInput = z.output<typeof createScheduleBody>;

export const updateScheduleBody = z
  .object({
    name: fields.name.optional(),
    target: fields.target.optional(),
    enabled: fields.enabled.optional(),
    intervalMinutes: fields.intervalMinutes.optional(),
    cron: fields.cron.optional(),
    timeZone: fields.timeZone.optional(),
    maxConcurrent: fields.maxConcurrent.optional(),
    timeoutMinutes: fields.timeoutMinutes.optional(),
    runAsUserId: fields.runAsUserId.optional(),
    maxModelCalls: fields.maxModelCalls.optional(),
    maxRetries: fields.maxRetries.optional(),
    maxRuntimeSeconds: fields.maxRuntimeSeconds.optional(),
  })
  .strict();
export type UpdateScheduleInput = z.output<typeof updateScheduleBody>;

export interface ScheduleFields {
  name: string;
  targetKind: string;
  targetConfig: Record<string, unknown>;
  enabled: boolean;
  intervalMinutes: number | null;
  cron: string | null;
  timeZone: string;
  maxConcurrent: number;
  timeoutMinutes: number;
  /** Null only for a stored schedule whose user was deleted; never accepted from input. */
  runAsUserId: string | null;
  /** The schedule's run limits (null: the RUN_MAX_* setting; 0: no limit). */
  maxModelCalls: number | null;
  maxRetries: number | null;
  maxRuntimeSeconds: number | null;
}

type Issue = { path: string; message: string };

/**
 * Checks a complete set of schedule fields (after defaults and a PATCH merge): the rule, the time zone,
 * the limits against the global one, the user its runs act as, and the target's own settings. Throws ValidationError listing
 * every problem by field name; returns the fields with the target config normalised by its kind.
 */
export async function checkScheduleFields(f: ScheduleFields, db: Db, now = new Date()): Promise<ScheduleFields> {
  const issues: Issue[] = [];
  const out = { ...f };

  if (f.intervalMinutes != null && f.cron != null) {
    issues.push({ path: "cron", message: "give either intervalMinutes or cron, not both" });
  } else if (f.intervalMinutes == null && f.cron == null) {
    issues.push({ path: "intervalMinutes", message: "give either intervalMinutes or cron" });
  }

  const tz = canonicalTimeZone(f.timeZone);
  if (!tz) issues.push({ path: "timeZone", message: `"${f.timeZone}" is not an IANA time zone such as Europe/Berlin or UTC` });
  else out.timeZone = tz;

  if (f.cron != null) {
    try {
      const spec = parseCron(f.cron);
      out.cron = spec.source;
      if (tz && nextCronRun(spec, tz, now.getTime()) == null) {
        issues.push({ path: "cron", message: `"${f.cron}" never fires (no such date)` });
      }
    } catch (err) {
      if (!(err instanceof CronSyntaxError)) throw err;
      issues.push({ path: "cron", message: err.message });
    }
  }

  const globalLimit = getConfig().SCHEDULER_MAX_CONCURRENT_RUNS;
  if (f.maxConcurrent > globalLimit) {
    issues.push({
      path: "maxConcurrent",
      message: `cannot exceed the global limit of ${globalLimit} runs (SCHEDULER_MAX_CONCURRENT_RUNS)`,
    });
  }

  // The principal its runs act as: an active user whose role allows what the target does.
  let runAs: AccessContext | null = null;
  const user = f.runAsUserId
    ? await db.prisma.user.findUnique({ where: { id: f.runAsUserId }, select: { id: true, email: true, role: true, disabledAt: true } })
    : null;
  const principal = user ? principalOfUser(user) : null;
  if (!f.runAsUserId) issues.push({ path: "runAsUserId", message: "choose the user whose access its runs have" });
  else if (!user) issues.push({ path: "runAsUserId", message: "no user has this id" });
  else if (!principal) issues.push({ path: "runAsUserId", message: `${user.email} is disabled` });
  else runAs = await accessContextFor(db, principal);

  const kind = getTargetKind(f.targetKind);
  if (kind?.permission && runAs && !can(runAs, kind.permission)) {
    issues.push({ path: "runAsUserId", message: `${user!.email} (${user!.role}) lacks the "${kind.permission}" permission that "${kind.label}" needs` });
    runAs = null; // the target's own checks of what this user may reach would only repeat the refusal
  }
  if (!kind) {
    const known = listTargetKinds().map((k) => k.kind);
    issues.push({ path: "target.kind", message: `unknown kind "${f.targetKind}"; one of: ${known.join(", ")}` });
  } else {
    const parsed = kind.config.safeParse(f.targetConfig);
    if (!parsed.success) {
      for (const d of zodIssuesToDetails(parsed.error.issues)) {
        issues.push({ path: `target.config.${d.path}`, message: d.message });
      }
    } else {
      out.targetConfig = parsed.data as Record<string, unknown>;
      for (const d of (await kind.check?.(parsed.data, { db, runAs })) ?? []) {
        issues.push({ path: `target.config.${d.path}`, message: d.message });
      }
    }
  }

  if (issues.length > 0) {
    throw new ValidationError(`The schedule is not valid: ${issues.map((i) => `${i.path} ${i.message}`).join("; ")}.`, issues);
  }
  return out;
}
