// Audit log of admin actions: who (user or key), what (action + target), when. Every admin mutation
// calls `audit(...)` after it succeeded, so the log lists what really happened. Details are facts about
// the change (ids, roles, scopes, counts) — never passwords, keys or wiki text; keys that look secret
// are dropped defensively.
import { requireAdmin, type AccessContext } from "./access/context";
import type { Db } from "./db/client";
import type { Principal } from "./auth/roles";

/** Dotted verbs, e.g. "user.create", "user.role", "key.revoke", "collection.members.set", "backup.restore". */
export type AuditAction = string;

const SECRET_KEY = /secret|token|password|passphrase|api[_-]?key|^key$|authorization|cookie/i;

function scrub(value: unknown, depth = 0): unknown {
  if (depth > 4) return "…";
  if (Array.isArray(value)) return value.slice(0, 100).map((v) => scrub(v, depth + 1));
  if (value && typeof value === "object" && !(value instanceof Date)) {
    return Object.fromEntries(
      Object.entries(value as Record<string, unknown>)
        .filter(([k]) => !SECRET_KEY.test(k))
        .map(([k, v]) => [k, scrub(v, depth + 1)]),
    );
  }
  if (typeof value === "string" && value.length > 500) return value.slice(0, 500) + "…";
  return value;
}

type AuditDb = { prisma: Pick<Db["prisma"], "auditLog"> };

/**
 * Records one admin action. `target` is "<type>:<id>" (e.g. `user:${id}`, `key:${id}`, `collection:${id}`),
 * or "" when the action has no single target. `principal` null means the system itself (setup, CLI).
 */
export async function audit(
  db: AuditDb,
  principal: Principal | null,
  action: AuditAction,
  target: string,
  details: Record<string, unknown> = {},
  opts: { requestId?: string } = {},
): Promise<void> {
  await db.prisma.auditLog.create({ data: auditRow(principal, action, target, details, opts) });
}

/** One audit_log row as `audit` writes it (details scrubbed); for writers that insert several at once. */
export interface AuditRow {
  actorUserId: string | null;
  actorApiKeyId: string | null;
  actorLabel: string;
  action: AuditAction;
  target: string;
  details: object;
  requestId: string | null;
}

export function auditRow(
  principal: Principal | null,
  action: AuditAction,
  target: string,
  details: Record<string, unknown> = {},
  opts: { requestId?: string } = {},
): AuditRow {
  return {
    actorUserId: principal?.userId ?? null,
    actorApiKeyId: principal?.apiKeyId ?? null,
    actorLabel: principal?.label ?? "system",
    action,
    target,
    details: scrub(details) as object,
    requestId: opts.requestId ?? null,
  };
}

export interface AuditQuery {
  action?: string;
  actor?: string;
  target?: string;
  before?: Date;
  limit?: number;
}

/** Newest first; `action` matches a prefix ("user." lists every user action). Admins only. */
export async function listAudit(ctx: AccessContext, q: AuditQuery = {}) {
  requireAdmin(ctx);
  const { db } = ctx;
  const limit = Math.min(Math.max(q.limit ?? 100, 1), 500);
  const rows = await db.prisma.auditLog.findMany({
    where: {
      ...(q.action ? { action: { startsWith: q.action } } : {}),
      ...(q.actor ? { actorLabel: { contains: q.actor, mode: "insensitive" as const } } : {}),
      ...(q.target ? { target: q.target } : {}),
      ...(q.before ? { at: { lt: q.before } } : {}),
    },
    orderBy: [{ at: "desc" }, { id: "desc" }],
    take: limit + 1,
  });
  const more = rows.length > limit;
  const entries = rows.slice(0, limit).map((r) => ({
    id: r.id,
    at: r.at.toISOString(),
    actor: r.actorLabel,
    actorUserId: r.actorUserId,
    actorApiKeyId: r.actorApiKeyId,
    action: r.action,
    target: r.target,
    details: r.details,
    requestId: r.requestId,
  }));
  return { entries, nextBefore: more ? entries[entries.length - 1]!.at : null };
}

/** Records an action a service took under an access context: its principal, its request id. */
export function auditAs(ctx: AccessContext, action: AuditAction, target: string, details: Record<string, unknown> = {}): Promise<void> {
  return audit(ctx.db, ctx.principal, action, target, details, { requestId: ctx.requestId });
}
