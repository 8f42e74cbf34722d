// Administration of people, API keys and collection access lists. Every change is written to the
// audit log (lib/audit.ts) by the function that makes it, so no caller can forget.
import type { Db } from "../db/client";
import { audit } from "../audit";
import { createApiKey } from "../auth/api-keys";
import { hashPassword, MIN_PASSWORD_LENGTH } from "../auth/passwords";
import { PERMISSIONS, ROLE_PERMISSIONS, type Permission, type Principal, type Role } from "../auth/roles";
import { createUser } from "../auth/users";
import { ConflictError, ForbiddenError, NotFoundError, ValidationError } from "../errors";
import type { CollectionAccessView, KeyView, UserView } from "./types";

export type { CollectionAccessView, KeyView, UserView } from "./types";

interface Ctx {
  db: Db;
  principal: Principal;
  requestId?: string;
}

const rid = (c: Ctx) => ({ requestId: c.requestId });

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

export async function listUsers(db: Db): Promise<UserView[]> {
  const users = await db.prisma.user.findMany({ orderBy: { email: "asc" }, include: { memberships: { select: { collectionId: true } } } });
  return users.map(userView);
}

export async function adminCreateUser(c: Ctx, input: { email: string; name?: string; password: string | null; role: Role }): Promise<UserView> {
  const user = await createUser(c.db, input);
  await audit(c.db, c.principal, "user.create", `user:${user.id}`, { email: user.email, role: user.role }, rid(c));
  return userView(user);
}

/** Active admins other than `exceptId`: the last one may not be demoted or disabled (nobody could administer). */
async function otherActiveAdmins(db: Db, exceptId: string): Promise<number> {
  return db.prisma.user.count({ where: { role: "admin", disabledAt: null, id: { not: exceptId } } });
}

export async function adminUpdateUser(
  c: Ctx,
  id: string,
  patch: { role?: Role; disabled?: boolean; name?: string; password?: string },
): Promise<UserView> {
  const user = await c.db.prisma.user.findUnique({ where: { id } });
  if (!user) throw new NotFoundError(`User ${id}`);
  const losesAdmin = user.role === "admin" && !user.disabledAt && ((patch.role && patch.role !== "admin") || patch.disabled === true);
  if (losesAdmin && (await otherActiveAdmins(c.db, id)) === 0) {
    throw new ConflictError("This is the last active administrator: make another user admin first.");
  }
  if (patch.disabled === true && c.principal.userId === id) throw new ConflictError("You cannot disable your own account.");
  if (patch.password !== undefined && patch.password.length < MIN_PASSWORD_LENGTH) {
    throw new ValidationError("The password is too short.", [{ path: "password", message: `must have at least ${MIN_PASSWORD_LENGTH} characters` }]);
  }
  const endsSessions = (patch.role !== undefined && patch.role !== user.role) || patch.disabled === true || patch.password !== undefined;
  const updated = await c.db.prisma.user.update({
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
  if (patch.role && patch.role !== user.role) await audit(c.db, c.principal, "user.role", target, { email: user.email, from: user.role, to: patch.role }, rid(c));
  if (patch.disabled === true && !user.disabledAt) await audit(c.db, c.principal, "user.disable", target, { email: user.email }, rid(c));
  if (patch.disabled === false && user.disabledAt) await audit(c.db, c.principal, "user.enable", target, { email: user.email }, rid(c));
  if (patch.name !== undefined && patch.name !== user.name) await audit(c.db, c.principal, "user.rename", target, { email: user.email }, rid(c));
  if (patch.password !== undefined) await audit(c.db, c.principal, "user.password_reset", target, { email: user.email }, rid(c));
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

export async function listKeys(db: Db): Promise<KeyView[]> {
  const keys = await db.prisma.apiKey.findMany({ orderBy: { createdAt: "desc" }, include: { createdBy: { select: { email: true } } } });
  return keys.map(keyView);
}

export async function adminCreateKey(
  c: Ctx,
  input: { name: string; scopes: Permission[]; collectionIds?: string[]; expiresAt?: Date | null },
): Promise<{ key: string; record: KeyView }> {
  if (input.expiresAt && input.expiresAt.getTime() <= Date.now()) {
    throw new ValidationError("The expiry is in the past.", [{ path: "expiresAt", message: "must be in the future" }]);
  }
  // A key never grants more than its creator may do (checked again on every use in lib/auth/api-keys.ts).
  const creatorPerms: readonly Permission[] = c.principal.role ? ROLE_PERMISSIONS[c.principal.role] : PERMISSIONS;
  const beyond = input.scopes.filter((s) => !creatorPerms.includes(s) || !c.principal.permissions.has(s));
  if (beyond.length) throw new ValidationError("You cannot give a key more than you may do.", [{ path: "scopes", message: `not yours to give: ${beyond.join(", ")}` }]);
  const ids = [...new Set(input.collectionIds ?? [])];
  if (ids.length) {
    const found = await c.db.prisma.collection.findMany({ where: { id: { in: ids } }, select: { id: true } });
    const missing = ids.filter((id) => !found.some((f) => f.id === id));
    if (missing.length) throw new ValidationError("Unknown collection.", [{ path: "collectionIds", message: `no collection ${missing.join(", ")}` }]);
  }
  // A key made with a key inherits that key's collection restriction: it cannot widen it.
  if (c.principal.collectionLimit) {
    const allowed = new Set(c.principal.collectionLimit);
    if (!ids.length || ids.some((id) => !allowed.has(id))) {
      throw new ForbiddenError(
        `Your key is restricted to collections ${[...allowed].join(", ")}; a key you create must be restricted within them too.`,
      );
    }
  }
  const { key, record } = await createApiKey(c.db, {
    name: input.name,
    scopes: input.scopes,
    collectionIds: ids,
    expiresAt: input.expiresAt ?? null,
    createdById: c.principal.userId,
    // A key made with a key is its child: it expires no later than its parent and dies with it.
    parentKeyId: c.principal.kind === "api_key" ? c.principal.apiKeyId : null,
  });
  await audit(c.db, c.principal, "key.create", `key:${record.id}`, { name: record.name, scopes: record.scopes, collectionIds: ids, expiresAt: record.expiresAt?.toISOString() ?? null }, rid(c));
  const creator = c.principal.userId ? await c.db.prisma.user.findUnique({ where: { id: c.principal.userId }, select: { email: true } }) : null;
  return { key, record: keyView({ ...record, createdBy: creator }) };
}

export async function adminRevokeKey(c: Ctx, id: string): Promise<KeyView> {
  const key = await c.db.prisma.apiKey.findUnique({ where: { id }, include: { createdBy: { select: { email: true } } } });
  if (!key) throw new NotFoundError(`API key ${id}`);
  if (key.revokedAt) return keyView(key);
  const updated = await c.db.prisma.apiKey.update({ where: { id }, data: { revokedAt: new Date() }, include: { createdBy: { select: { email: true } } } });
  await audit(c.db, c.principal, "key.revoke", `key:${id}`, { name: key.name }, rid(c));
  return keyView(updated);
}

// ───────────── collections and their access lists ─────────────

export async function listCollectionsWithAccess(db: Db): Promise<CollectionAccessView[]> {
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

export async function adminCreateCollection(c: Ctx, input: { slug: string; name: string; description?: string; restricted?: boolean }) {
  try {
    const col = await c.db.prisma.collection.create({
      data: { slug: input.slug, name: input.name, description: input.description ?? "", restricted: input.restricted ?? false },
    });
    await audit(c.db, c.principal, "collection.create", `collection:${col.id}`, { slug: col.slug, restricted: col.restricted }, rid(c));
    return { id: col.id, slug: col.slug, name: col.name, description: col.description, restricted: col.restricted, documentCount: 0, members: [] };
  } catch (err) {
    if ((err as { code?: string }).code === "P2002") throw new ConflictError(`A collection with slug ${input.slug} already exists.`);
    throw err;
  }
}

export async function adminUpdateCollection(c: Ctx, id: string, patch: { name?: string; description?: string; restricted?: boolean }) {
  const col = await c.db.prisma.collection.findUnique({ where: { id } });
  if (!col) throw new NotFoundError(`Collection ${id}`);
  await c.db.prisma.collection.update({ where: { id }, data: patch });
  await audit(c.db, c.principal, patch.restricted !== undefined && patch.restricted !== col.restricted ? "collection.access" : "collection.update", `collection:${id}`, {
    slug: col.slug,
    ...patch,
  }, rid(c));
  return (await listCollectionsWithAccess(c.db)).find((x) => x.id === id)!;
}

/** Replaces the collection's member list. */
export async function adminSetMembers(c: Ctx, id: string, userIds: string[]) {
  const col = await c.db.prisma.collection.findUnique({ where: { id }, include: { members: true } });
  if (!col) throw new NotFoundError(`Collection ${id}`);
  const ids = [...new Set(userIds)];
  const found = await c.db.prisma.user.findMany({ where: { id: { in: ids } }, select: { id: true } });
  const missing = ids.filter((u) => !found.some((f) => f.id === u));
  if (missing.length) throw new ValidationError("Unknown user.", [{ path: "userIds", message: `no user ${missing.join(", ")}` }]);
  await c.db.prisma.$transaction([
    c.db.prisma.collectionMember.deleteMany({ where: { collectionId: id, userId: { notIn: ids } } }),
    c.db.prisma.collectionMember.createMany({ data: ids.map((userId) => ({ collectionId: id, userId })), skipDuplicates: true }),
  ]);
  const before = new Set(col.members.map((m) => m.userId));
  await audit(c.db, c.principal, "collection.members", `collection:${id}`, {
    slug: col.slug,
    added: ids.filter((u) => !before.has(u)),
    removed: [...before].filter((u) => !ids.includes(u)),
  }, rid(c));
  return (await listCollectionsWithAccess(c.db)).find((x) => x.id === id)!;
}

/**
 * Deletes a collection with everything in it (sources, documents, chunks, memberships; the database
 * cascades). Risky: routes ask for it through an approval (lib/approvals, action "collection.delete"),
 * which calls this once approved.
 */
export async function adminDeleteCollection(c: Ctx, id: string): Promise<{ collectionId: string; documents: number }> {
  const col = await c.db.prisma.collection.findUnique({ where: { id }, select: { slug: true, _count: { select: { documents: true } } } });
  if (!col) throw new NotFoundError(`Collection ${id}`);
  await c.db.prisma.collection.delete({ where: { id } });
  await audit(c.db, c.principal, "collection.delete", `collection:${id}`, { slug: col.slug, documents: col._count.documents }, rid(c));
  return { collectionId: id, documents: col._count.documents };
}
