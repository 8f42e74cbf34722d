// API keys for the Connect page: every person lists, creates and revokes their own keys (an administrator
// sees everyone's). Creation and revocation go through lib/access/admin.ts, which keeps the key rules in
// one place (never more than its creator may do, audit entry), after checking here that each collection a
// key is limited to is one its creator may read.
import { pickReadable, type AccessContext } from "../access/context";
import { adminCreateKey, adminRevokeKey } from "../access/admin";
import type { Permission } from "../auth/roles";
import { NotFoundError, ValidationError } from "../errors";
import type { ConnectKey } from "./types";

export type { ConnectKey } from "./types";

/**
 * Which keys are the caller's own: a person's are those they created (an administrator's: every key); a
 * key's are itself and the keys made with it — not its creator's other keys.
 */
function ownKeys(ctx: AccessContext) {
  const p = ctx.principal;
  if (p.kind === "api_key") return { OR: [{ id: p.apiKeyId! }, { parentKeyId: p.apiKeyId! }] };
  if (ctx.isAdmin) return {};
  return { createdById: p.userId ?? "00000000-0000-0000-0000-000000000000" };
}

/** The active keys the caller may use on the Connect page (see ownKeys). */
export async function listConnectKeys(ctx: AccessContext): Promise<ConnectKey[]> {
  const userId = ctx.principal.userId;
  if (!userId) return [];
  const now = new Date();
  const rows = await ctx.db.prisma.apiKey.findMany({
    where: { AND: [{ revokedAt: null }, { OR: [{ expiresAt: null }, { expiresAt: { gt: now } }] }, ownKeys(ctx)] },
    orderBy: { createdAt: "desc" },
    include: { createdBy: { select: { email: true } } },
  });
  return rows.map((k) => ({
    id: k.id,
    name: k.name,
    prefix: `sot_${k.prefix}_…`,
    scopes: k.scopes as Permission[],
    collectionIds: k.collectionIds,
    expiresAt: k.expiresAt?.toISOString() ?? null,
    lastUsedAt: k.lastUsedAt?.toISOString() ?? null,
    createdBy: k.createdBy?.email ?? null,
    mine: !!userId && k.createdById === userId,
  }));
}

/** Creates a key for the caller; the answer's `key` is the only time its secret is shown. */
export async function createOwnKey(
  ctx: AccessContext,
  input: { name: string; scopes: Permission[]; collectionIds?: string[]; expiresInDays?: number },
): Promise<{ key: string; id: string; name: string; prefix: string; scopes: Permission[]; collectionIds: string[]; expiresAt: string | null }> {
  if (!ctx.principal.userId) throw new ValidationError("Only a person (a signed-in user, or their key) can own a key.");
  // A key may be limited only to collections its creator may read now (403 naming the others).
  const collectionIds = input.collectionIds?.length ? pickReadable(ctx, input.collectionIds) : [];
  const expiresAt = input.expiresInDays ? new Date(Date.now() + input.expiresInDays * 86_400_000) : null;
  const { key, record } = await adminCreateKey(ctx, { name: input.name, scopes: input.scopes, collectionIds, expiresAt });
  return { key, id: record.id, name: record.name, prefix: record.prefix, scopes: record.scopes, collectionIds: record.collectionIds, expiresAt: record.expiresAt };
}

/** Revokes one of the caller's own keys (see ownKeys); anyone else's key is "not found". */
export async function revokeOwnKey(ctx: AccessContext, id: string): Promise<{ id: string; revoked: true }> {
  const key = await ctx.db.prisma.apiKey.findFirst({ where: { AND: [{ id }, ownKeys(ctx)] }, select: { id: true } });
  if (!key) throw new NotFoundError(`API key ${id}`);
  await adminRevokeKey(ctx, id);
  return { id, revoked: true };
}
