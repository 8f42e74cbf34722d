// Notifications: admins configure targets (Discord, a signed generic webhook, e-mail over SMTP); SOT
// raises events with `notify(event)`; each (event, target) becomes a delivery row and a `notify.deliver`
// job that sends it with retries. Raising an event never blocks or fails the work that raised it: it
// writes rows and queues jobs, and a failure to do even that is logged, not thrown.
//
// For other areas (the usage ledger, budgets, cubbies): call `notify({ kind: "budget.mode", … })` after the
// change is committed; the event's shape is checked by `eventSchema` (lib/notify/events.ts), which admits
// ids, counts and statuses only.
import { requireAdmin, type AccessContext } from "../access/context";
import { auditAs } from "../audit";
import { randomUUID } from "node:crypto";
import { decryptSecret, encryptSecret, notificationSecretRef } from "../secrets";
import { getDb, openedDb, type Db } from "../db/client";
import { NotFoundError, ValidationError, zodIssuesToDetails } from "../errors";
import { defineJob, enqueue } from "../jobs/queue";
import { log } from "../log";
import { sendTo, splitTarget, type CreateTargetInput, type TargetKind, type TargetSecret, type UpdateTargetInput } from "./channels";
import { eventSchema, renderEvent, type NotificationEvent } from "./events";
import type { CreatedTargetView, NotificationDeliveryView, NotificationTargetView } from "./types";

export { EVENT_KINDS, type NotificationEvent } from "./events";
export { createTargetBody, updateTargetBody, signWebhook, SIGNATURE_HEADER } from "./channels";

type TargetRow = Awaited<ReturnType<Db["prisma"]["notificationTarget"]["findFirstOrThrow"]>> & {
  deliveries?: Array<{ status: string; createdAt: Date; sentAt: Date | null; error: string | null }>;
};

function destination(kind: string, config: Record<string, unknown>): string {
  if (kind === "email") {
    const to = (config.to as string[]) ?? [];
    return `${to.length} recipient${to.length === 1 ? "" : "s"} via ${config.host}:${config.port}`;
  }
  return String(config.host ?? "");
}

function targetView(row: TargetRow): NotificationTargetView {
  const last = row.deliveries?.[0];
  return {
    id: row.id,
    name: row.name,
    kind: row.kind as NotificationTargetView["kind"],
    destination: destination(row.kind, row.config as Record<string, unknown>),
    events: row.events,
    enabled: row.enabled,
    createdBy: row.createdBy,
    createdAt: row.createdAt.toISOString(),
    lastDelivery: last ? { status: last.status, at: (last.sentAt ?? last.createdAt).toISOString(), error: last.error } : null,
  };
}

const withLastDelivery = { deliveries: { orderBy: { createdAt: "desc" as const }, take: 1, select: { status: true, createdAt: true, sentAt: true, error: true } } };

export async function listTargets(ctx: AccessContext): Promise<NotificationTargetView[]> {
  requireAdmin(ctx);
  const rows = await ctx.db.prisma.notificationTarget.findMany({ orderBy: { createdAt: "asc" }, include: withLastDelivery });
  return rows.map(targetView);
}

export async function createTarget(ctx: AccessContext, input: CreateTargetInput): Promise<CreatedTargetView> {
  requireAdmin(ctx);
  const split = await splitTarget(input);
  // The id is chosen here: the secret is sealed for this very row (KES first: down, nothing is written).
  const id = randomUUID();
  const secret = await encryptSecret(JSON.stringify(split.secret), notificationSecretRef(id));
  const row = await ctx.db.prisma.notificationTarget.create({
    data: {
      id,
      name: input.name,
      kind: input.kind,
      config: split.config as object,
      secret,
      events: input.events,
      createdBy: ctx.principal.label,
    },
  });
  await auditAs(ctx, "notification.target.create", `notification_target:${row.id}`, { kind: input.kind, events: input.events });
  return { ...targetView(row), ...(split.revealOnce ?? {}) };
}

export async function updateTarget(ctx: AccessContext, id: string, input: UpdateTargetInput): Promise<NotificationTargetView> {
  requireAdmin(ctx);
  const found = await ctx.db.prisma.notificationTarget.findUnique({ where: { id }, select: { id: true } });
  if (!found) throw new NotFoundError("Notification target");
  const row = await ctx.db.prisma.notificationTarget.update({
    where: { id },
    data: { ...input, updatedAt: new Date() },
    include: withLastDelivery,
  });
  await auditAs(ctx, "notification.target.update", `notification_target:${id}`, input);
  return targetView(row);
}

export async function deleteTarget(ctx: AccessContext, id: string): Promise<void> {
  requireAdmin(ctx);
  const { count } = await ctx.db.prisma.notificationTarget.deleteMany({ where: { id } });
  if (count === 0) throw new NotFoundError("Notification target");
  await auditAs(ctx, "notification.target.delete", `notification_target:${id}`);
}

export async function listDeliveries(ctx: AccessContext, targetId?: string, limit = 50): Promise<NotificationDeliveryView[]> {
  requireAdmin(ctx);
  const rows = await ctx.db.prisma.notificationDelivery.findMany({
    where: targetId ? { targetId } : {},
    orderBy: { createdAt: "desc" },
    take: Math.min(Math.max(limit, 1), 500),
  });
  return rows.map((r) => ({
    id: r.id,
    targetId: r.targetId,
    eventKind: r.eventKind,
    status: r.status as NotificationDeliveryView["status"],
    attempts: r.attempts,
    error: r.error,
    createdAt: r.createdAt.toISOString(),
    sentAt: r.sentAt?.toISOString() ?? null,
  }));
}

/** Retries of one delivery (with backoff from 5 s: about two minutes in all) before it is recorded as failed. */
const DELIVERY_RETRIES = 4;

/** Sends one queued delivery; retried by the queue, recorded as failed on its last attempt. */
export const deliverNotificationJob = defineJob<{ deliveryId: string }>({
  name: "notify.deliver",
  retryLimit: DELIVERY_RETRIES,
  retryDelaySeconds: 5,
  expireInSeconds: 120,
  concurrency: 4,
  handler: async ({ deliveryId }, job) => {
    const db = await getDb();
    await deliverNotification(db, deliveryId, { lastAttempt: job.retryCount >= DELIVERY_RETRIES, signal: job.signal });
  },
});

export const notifyJobs = [deliverNotificationJob];

/**
 * Sends a delivery now. Sent (or gone) deliveries are left alone, so a retried job never sends twice
 * what went out. Throws when sending failed and it is not the last attempt (the queue retries).
 */
export async function deliverNotification(db: Db, deliveryId: string, opts: { lastAttempt: boolean; signal?: AbortSignal }): Promise<"sent" | "failed" | "skipped"> {
  const d = await db.prisma.notificationDelivery.findUnique({ where: { id: deliveryId }, include: { target: true } });
  if (!d || d.status !== "queued") return "skipped";
  if (!d.target.enabled) {
    await db.prisma.notificationDelivery.update({ where: { id: d.id }, data: { status: "failed", error: "the target was disabled before this was sent" } });
    return "failed";
  }
  const event = eventSchema.parse(d.event);
  try {
    const secret = JSON.parse(await decryptSecret(d.target.secret, notificationSecretRef(d.target.id))) as TargetSecret;
    await sendTo(d.target.kind as TargetKind, d.target.config as Record<string, unknown>, secret, renderEvent(event), { deliveryId: d.id, signal: opts.signal });
  } catch (err) {
    const error = (err as Error).message.slice(0, 300);
    await db.prisma.notificationDelivery.update({
      where: { id: d.id },
      data: { attempts: { increment: 1 }, error, ...(opts.lastAttempt ? { status: "failed" } : {}) },
    });
    if (opts.lastAttempt) {
      log("warn", "notification not delivered", { deliveryId: d.id, targetId: d.targetId, error });
      return "failed";
    }
    throw err;
  }
  await db.prisma.notificationDelivery.update({ where: { id: d.id }, data: { status: "sent", attempts: { increment: 1 }, error: null, sentAt: new Date() } });
  return "sent";
}

/**
 * Raises an event: one queued delivery per enabled target that takes its kind. Returns the deliveries
 * queued. Never throws: an event that does not pass `eventSchema` is a programming error and is logged;
 * a database or queue outage is logged too, and the work that raised the event goes on.
 * `db` defaults to the process's database if one is open (a process without one records nothing).
 */
export async function notify(event: NotificationEvent, opts: { db?: Db } = {}): Promise<string[]> {
  const parsed = eventSchema.safeParse(event);
  if (!parsed.success) {
    log("error", "notification event refused", { kind: (event as { kind?: string }).kind, issues: zodIssuesToDetails(parsed.error.issues) });
    return [];
  }
  try {
    const db = opts.db ?? (await openedDb());
    if (!db) return [];
    const targets = await db.prisma.notificationTarget.findMany({
      where: { enabled: true, OR: [{ events: { isEmpty: true } }, { events: { has: parsed.data.kind } }] },
      select: { id: true },
    });
    const ids: string[] = [];
    for (const t of targets) {
      const d = await db.prisma.notificationDelivery.create({ data: { targetId: t.id, eventKind: parsed.data.kind, event: parsed.data as object }, select: { id: true } });
      await enqueue(deliverNotificationJob, { deliveryId: d.id });
      ids.push(d.id);
    }
    return ids;
  } catch (err) {
    log("error", "could not queue a notification", { kind: parsed.data.kind, error: (err as Error).message });
    return [];
  }
}

/** For callers that must not wait even for the insert (the model client's breaker). */
export function notifyInBackground(event: NotificationEvent): void {
  void notify(event);
}

/** Validates an event the way notify() does, for tests and callers that build events from input. */
export function parseEvent(value: unknown): NotificationEvent {
  const r = eventSchema.safeParse(value);
  if (!r.success) throw new ValidationError("Invalid notification event", zodIssuesToDetails(r.error.issues));
  return r.data;
}
