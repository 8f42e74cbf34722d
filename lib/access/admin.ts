// Administration of people, API keys and collection access lists. Every function takes the caller's
// access context first and, but for the key functions (lib/connect/keys.ts uses them for a person's own
// keys), requires an admin. Every change is written to the audit log (lib/audit.ts) by the function that
// makes it, so no caller can forget.
import type { Db } from "../db/client";
import { auditAs } from "../audit";
import { requireAdmin, type AccessContext } from "./context";
import { createApiKey } from "../auth/api-keys";
import { hashPassword, MIN_PASSWORD_LENGTH } from "../auth/passwords";
import { PERMISSIONS, ROLE_PERMISSIONS, type Permission, type Role } from "../auth/roles";
import { createUser } from "../auth/users";
import { ConflictError, ForbiddenError, NotFoundError, ValidationError } from "../errors";
import type { CollectionAccessView, KeyView, UserView } from "./types";

export type { CollectionAccessView, KeyView, UserView } from "./types";

// ───────────── users ─────────────

function userView(u: {
  id: string; email: string; name: string; role: string; disabledAt: Date | null; lastLoginAt: Date | null; createdAt: Date; passwordHash?: string | null;
  memberships?: Array<{ collectionId: string }>;
}): UserView {
  return {
    id: u.id,
    email: u.email,
    name: u.name,
    role: u.role as Role,
    disabled: !!u.disabledAt,
    disabledAt: u.disabledAt?.toISOString() ?? null,
    hasPassword: !!u.passwordHash,
    lastLoginAt: u.lastLoginAt?.toISOString() ?? null,
    createdAt: u.createdAt.toISOString(),
    collectionIds: u.memberships?.map((m) => m.collectionId) ?? [],
  };
}

export async function listUsers(ctx: AccessContext): Promise<UserView[]> {
  requireAdmin(ctx);
  const users = await ctx.db.prisma.user.findMany({ orderBy: { email: "asc" }, include: { memberships: { select: { collectionId: true } } } });
  return users.map(userView);
}

export async function adminCreateUser(ctx: AccessContext, input: { email: string; name?: string; password: string | null; role: Role }): Promise<UserView> {
  requireAdmin(ctx);
  const user = await createUser(ctx.db, input);
  await auditAs(ctx, "user.create", `user:${user.id}`, { email: user.email, role: user.role });
  return userView(user);
}

/** Active admins other than `exceptId`: the last one may not be demoted or disabled (nobody could administer). */
async function otherActiveAdmins(db: Db, exceptId: string): Promise<number> {
  return db.prisma.user.count({ where: { role: "admin", disabledAt: null, id: { not: exceptId } } });
}

export async function adminUpdateUser(
  ctx: AccessContext,
  id: string,
  patch: { role?: Role; disabled?: boolean; name?: string; password?: string },
): Promise<UserView> {
  requireAdmin(ctx);
  const user = await ctx.db.prisma.user.findUnique({ where: { id } });
  if (!user) throw new NotFoundError(`User ${id}`);
  const losesAdmin = user.role === "admin" && !user.disabledAt && ((patch.role && patch.role !== "admin") || patch.disabled === true);
  if (losesAdmin && (await otherActiveAdmins(ctx.db, id)) === 0) {
    throw new ConflictError("This is the last active administrator: make another user admin first.");
  }
  if (patch.disabled === true && ctx.principal.userId === id) throw new ConflictError("You cannot disable your own account.");
  if (patch.password !== undefined && patch.password.length < MIN_PASSWORD_LENGTH) {
    throw new ValidationError("The password is too short.", [{ path: "password", message: `must have at least ${MIN_PASSWORD_LENGTH} characters` }]);
  }
  const endsSessions = (patch.role !== undefined && patch.role !== user.role) || patch.disabled === true || patch.password !== undefined;
  const updated = await ctx.db.prisma.user.update({
    where: { id },
    data: {
      ...(patch.role ? { role: patch.role } : {}),
      ...(patch.name !== undefined ? { name: patch.name } : {}),
      ...(patch.disabled === true && !user.disabledAt ? { disabledAt: new Date() } : {}),
      ...(patch.disabled === false ? { disabledAt: null } : {}),
      ...(patch.password !== undefined ? { passwordHash: await hashPassword(patch.password) } : {}),
      // A new password, a new role or disabling ends every session the user has (lib/auth/session.ts).
      ...(endsSessions ? { sessionVersion: { increment: 1 } } : {}),
    },
    include: { memberships: { select: { collectionId: true } } },
  });
  const target = `user:${id}`;
  if (patch.role && patch.role !== user.role) await auditAs(ctx, "user.role", target, { email: user.email, from: user.role, to: patch.role });
  if (patch.disabled === true && !user.disabledAt) await auditAs(ctx, "user.disable", target, { email: user.email });
  if (patch.disabled === false && user.disabledAt) await auditAs(ctx, "user.enable", target, { email: user.email });
  if (patch.name !== undefined && patch.name !== user.name) await auditAs(ctx, "user.rename", target, { email: user.email });
  if (patch.password !== undefined) await auditAs(ctx, "user.password_reset", target, { email: user.email });
  return userView(updated);
}

// ───────────── API keys ─────────────

function keyView(k: {
  id: string; name: string; prefix: string; scopes: string[]; collectionIds: string[]; expiresAt: Date | null; revokedAt: Date | null;
  lastUsedAt: Date | null; createdAt: Date; createdBy?: { email: string } | null; createdById: string | null;
}): KeyView {
  const now = Date.now();
  return {
    id: k.id,
    name: k.name,
    prefix: `sot_${k.prefix}_…`,
    scopes: k.scopes as Permission[],
    collectionIds: k.collectionIds,
    expiresAt: k.expiresAt?.toISOString() ?? null,
    revokedAt: k.revokedAt?.toISOString() ?? null,
    lastUsedAt: k.lastUsedAt?.toISOString() ?? null,
    createdAt: k.createdAt.toISOString(),
    createdBy: k.createdBy?.email ?? null,
    createdById: k.createdById,
    status: (k.revokedAt ? "revoked" : k.expiresAt && k.expiresAt.getTime() <= now ? "expired" : "active") as "active" | "revoked" | "expired",
  };
}

export async function listKeys(ctx: AccessContext): Promise<KeyView[]> {
  requireAdmin(ctx);
  const keys = await ctx.db.prisma.apiKey.findMany({ orderBy: { createdAt: "desc" }, include: { createdBy: { select: { email: true } } } });
  return keys.map(keyView);
}

export async function adminCreateKey(
  ctx: AccessContext,
  input: { name: string; scopes: Permission[]; collectionIds?: string[]; expiresAt?: Date | null },
): Promise<{ key: string; record: KeyView }> {
  if (input.expiresAt && input.expiresAt.getTime() <= Date.now()) {
    throw new ValidationError("The expiry is in the past.", [{ path: "expiresAt", message: "must be in the future" }]);
  }
  // A key never grants more than its creator may do (checked again on every use in lib/auth/api-keys.ts).
  const creatorPerms: readonly Permission[] = ctx.principal.role ? ROLE_PERMISSIONS[ctx.principal.role] : PERMISSIONS;
  const beyond = input.scopes.filter((s) => !creatorPerms.includes(s) || !ctx.principal.permissions.has(s));
  if (beyond.length) throw new ValidationError("You cannot give a key more than you may do.", [{ path: "scopes", message: `not yours to give: ${beyond.join(", ")}` }]);
  const ids = [...new Set(input.collectionIds ?? [])];
  if (ids.length) {
    const found = await ctx.db.prisma.collection.findMany({ where: { id: { in: ids } }, select: { id: true } });
    const missing = ids.filter((id) => !found.some((f) => f.id === id));
    if (missing.length) throw new ValidationError("Unknown collection.", [{ path: "collectionIds", message: `no collection ${missing.join(", ")}` }]);
  }
  // A key made with a key inherits that key's collection restriction: it cannot widen it.
  if (ctx.principal.collectionLimit) {
    const allowed = new Set(ctx.principal.collectionLimit);
    if (!ids.length || ids.some((id) => !allowed.has(id))) {
      throw new ForbiddenError(
        `Your key is restricted to collections ${[...allowed].join(", ")}; a key you create must be restricted within them too.`,
      );
    }
  }
  const { key, record } = await createApiKey(ctx.db, {
    name: input.name,
    scopes: input.scopes,
    collectionIds: ids,
    expiresAt: input.expiresAt ?? null,
    createdById: ctx.principal.userId,
    // A key made with a key is its child: it expires no later than its parent and dies with it.
    parentKeyId: ctx.principal.kind === "api_key" ? ctx.principal.apiKeyId : null,
  });
  await auditAs(ctx, "key.create", `key:${record.id}`, { name: record.name, scopes: record.scopes, collectionIds: ids, expiresAt: record.expiresAt?.toISOString() ?? null });
  const creator = ctx.principal.userId ? await ctx.db.prisma.user.findUnique({ where: { id: ctx.principal.userId }, select: { email: true } }) : null;
  return { key, record: keyView({ ...record, createdBy: creator }) };
}

export async function adminRevokeKey(ctx: AccessContext, id: string): Promise<KeyView> {
  const key = await ctx.db.prisma.apiKey.findUnique({ where: { id }, include: { createdBy: { select: { email: true } } } });
  if (!key) throw new NotFoundError(`API key ${id}`);
  if (key.revokedAt) return keyView(key);
  const updated = await ctx.db.prisma.apiKey.update({ where: { id }, data: { revokedAt: new Date() }, include: { createdBy: { select: { email: true } } } });
  await auditAs(ctx, "key.revoke", `key:${id}`, { name: key.name });
  return keyView(updated);
}

// ───────────── collections and their access lists ─────────────

export async function listCollectionsWithAccess(ctx: AccessContext): Promise<CollectionAccessView[]> {
  requireAdmin(ctx);
  return collectionsWithAccess(ctx.db);
}

async function collectionsWithAccess(db: Db): Promise<CollectionAccessView[]> {
  const rows = await db.prisma.collection.findMany({
    orderBy: { name: "asc" },
    include: { members: { include: { user: { select: { id: true, email: true } } } }, _count: { select: { documents: true } } },
  });
  return rows.map((c) => ({
    id: c.id,
    slug: c.slug,
    name: c.name,
    description: c.description,
    restricted: c.restricted,
    documentCount: c._count.documents,
    members: c.members.map((m) => ({ userId: m.user.id, email: m.user.email })),
  }));
}

export async function adminCreateCollection(ctx: AccessContext, input: { slug: string; name: string; description?: string; restricted?: boolean }) {
  requireAdmin(ctx);
  try {
    const col = await ctx.db.prisma.collection.create({
      data: { slug: input.slug, name: input.name, description: input.description ?? "", restricted: input.restricted ?? false },
    });
    await auditAs(ctx, "collection.create", `collection:${col.id}`, { slug: col.slug, restricted: col.restricted });
    return { id: col.id, slug: col.slug, name: col.name, description: col.description, restricted: col.restricted, documentCount: 0, members: [] };
  } catch (err) {
    if ((err as { code?: string }).code === "P2002") throw new ConflictError(`A collection with slug ${input.slug} already exists.`);
    throw err;
  }
}

export async function adminUpdateCollection(ctx: AccessContext, id: string, patch: { name?: string; description?: string; restricted?: boolean }) {
  requireAdmin(ctx);
  const col = await ctx.db.prisma.collection.findUnique({ where: { id } });
  if (!col) throw new NotFoundError(`Collection ${id}`);
  await ctx.db.prisma.collection.update({ where: { id }, data: patch });
  await auditAs(ctx, patch.restricted !== undefined && patch.restricted !== col.restricted ? "collection.access" : "collection.update", `collection:${id}`, {
    slug: col.slug,
    ...patch,
  });
  return (await collectionsWithAccess(ctx.db)).find((x) => x.id === id)!;
}

/** Replaces the collection's member list. */
export async function adminSetMembers(ctx: AccessContext, id: string, userIds: string[]) {
  requireAdmin(ctx);
  const col = await ctx.db.prisma.collection.findUnique({ where: { id }, include: { members: true } });
  if (!col) throw new NotFoundError(`Collection ${id}`);
  const ids = [...new Set(userIds)];
  const found = await ctx.db.prisma.user.findMany({ where: { id: { in: ids } }, select: { id: true } });
  const missing = ids.filter((u) => !found.some((f) => f.id === u));
  if (missing.length) throw new ValidationError("Unknown user.", [{ path: "userIds", message: `no user ${missing.join(", ")}` }]);
  await ctx.db.prisma.$transaction([
    ctx.db.prisma.collectionMember.deleteMany({ where: { collectionId: id, userId: { notIn: ids } } }),
    ctx.db.prisma.collectionMember.createMany({ data: ids.map((userId) => ({ collectionId: id, userId })), skipDuplicates: true }),
  ]);
  const before = new Set(col.members.map((m) => m.userId));
  await auditAs(ctx, "collection.members", `collection:${id}`, {
    slug: col.slug,
    added: ids.filter((u) => !before.has(u)),
    removed: [...before].filter((u) => !ids.includes(u)),
  });
  return (await collectionsWithAccess(ctx.db)).find((x) => x.id === id)!;
}

/**
 * Deletes a collection with everything in it (sources, documents, chunks, memberships; the database
 * cascades). Risky: routes ask for it through an approval (lib/approvals, action "collection.delete"),
 * which calls this once approved.
 */
export async function adminDeleteCollection(ctx: AccessContext, id: string): Promise<{ collectionId: string; documents: number }> {
  requireAdmin(ctx);
  const col = await ctx.db.prisma.collection.findUnique({ where: { id }, select: { slug: true, _count: { select: { documents: true } } } });
  if (!col) throw new NotFoundError(`Collection ${id}`);
  await ctx.db.prisma.collection.delete({ where: { id } });
  await auditAs(ctx, "collection.delete", `collection:${id}`, { slug: col.slug, documents: col._count.documents });
  return { collectionId: id, documents: col._count.documents };
}
