// The trust boundary. Every request (session cookie or API key) and every job gets ONE AccessContext:
// who acts, on whose behalf, with which permissions, and which collections it may read and write.
// Every lib/ service that touches collection data takes it first and filters in SQL with
// `ctx.readableIds` / `ctx.writableIds`; nothing else decides access.
//
// Agents (lib/agents) are principals too: an agent's context reads no collection; what it may do with
// cubbies and KES keys is decided by KES's grants, checked on every call (`agentOf` below says who it is).
//
// Rules (re-read from the database every time a context is built, never cached across requests):
// - a user reads the unrestricted collections and the restricted ones they are a member of; an admin
//   reads every collection;
// - a key has at most its scopes ∩ its creator's current role, and at most its collection list ∩ what
//   its creator (or parent key) may read now; a key whose creator is missing or disabled is refused;
// - a job runs with the context captured when it was created (an ActorRef), re-resolved when it runs:
//   it never has more than whoever started it has at that moment, nor more collections than it was
//   started with.
import type { AgentIdentity } from "../agents/tokens";
import type { Db } from "../db/client";
import { ForbiddenError } from "../errors";
import { principalFromApiKeyId } from "../auth/api-keys";
import { allCollectionIds, collectionIdsReadableBy } from "./queries";
import { ROLE_PERMISSIONS, type Permission, type Principal, type Role } from "../auth/roles";

export interface AccessContext {
  readonly db: Db;
  /** Who acts: a signed-in user, an API key, or the system (named jobs that no person started). */
  readonly principal: Principal;
  /** The person on whose behalf this runs (the user, or the key's creator); null for the system. */
  readonly onBehalfOf: string | null;
  /** Collections this context may read, for SQL filters (`collection_id = ANY(...)`). */
  readonly readableIds: string[];
  /** Collections this context may write (import into): readable ones, when it has the import permission. */
  readonly writableIds: string[];
  /** An admin user, or an admin-scoped key (always unrestricted): may administer the whole instance. */
  readonly isAdmin: boolean;
  readonly requestId?: string;
}

/**
 * What a job keeps of the context that created it, to be re-resolved (never widened) when it runs.
 * `collectionIds` is what the creator could read then: the job reads at most those.
 */
export interface ActorRef {
  userId: string | null;
  apiKeyId: string | null;
  collectionIds: string[];
  label?: string;
}

export function can(ctx: AccessContext | null | undefined, permission: Permission): boolean {
  return !!ctx && ctx.principal.permissions.has(permission);
}

export function requirePermission(ctx: AccessContext, permission: Permission): void {
  if (!can(ctx, permission)) throw new ForbiddenError(`This needs the "${permission}" permission, which you do not have.`);
}

export function canRead(ctx: AccessContext, collectionId: string): boolean {
  return ctx.readableIds.includes(collectionId);
}

/**
 * The collections to work on: the requested ones if all are readable (else 403 naming them), or every
 * readable one when none are requested.
 */
export function pickReadable(ctx: AccessContext, requested?: readonly string[] | null): string[] {
  if (!requested || requested.length === 0) return [...ctx.readableIds];
  const denied = requested.filter((id) => !canRead(ctx, id));
  if (denied.length > 0) {
    throw new ForbiddenError(`You may not read collection${denied.length > 1 ? "s" : ""} ${denied.join(", ")}.`);
  }
  return [...new Set(requested)];
}

export function assertReadable(ctx: AccessContext, collectionId: string): void {
  pickReadable(ctx, [collectionId]);
}

export function assertWritable(ctx: AccessContext, collectionId: string): void {
  if (!ctx.writableIds.includes(collectionId)) {
    throw new ForbiddenError(`You may not write to collection ${collectionId}.`);
  }
}

/** Admin-only actions on the whole instance (users, keys, collections, schedules, backups, audit). */
export function requireAdmin(ctx: AccessContext): void {
  if (!ctx.isAdmin) throw new ForbiddenError('This needs the "admin" permission, which you do not have.');
}

/**
 * The agent a context stands for, called with a token (a credential only buys tokens); 403 otherwise.
 * `bearer` is what KES checks again on each call.
 */
export function agentOf(ctx: AccessContext): { agent: AgentIdentity; bearer: string } {
  const { agent, bearer } = ctx.principal;
  if (ctx.principal.kind !== "agent" || !agent || !bearer) throw new ForbiddenError("This is for agents: call it with an agent token (Authorization: Bearer sot_at_…).");
  if (!agent.tokenId) {
    throw new ForbiddenError("An agent credential only buys tokens: POST /api/agents/tokens with it, then call with the token it returns.");
  }
  return { agent, bearer };
}

/** The collections a principal may read now: its role and memberships, narrowed by its key's limit. */
async function readableFor(db: Db, principal: Principal): Promise<string[]> {
  let ids: string[];
  if (principal.role === "admin") {
    ids = await allCollectionIds(db);
  } else if (principal.role && principal.userId) {
    ids = await collectionIdsReadableBy(db, principal.userId);
  } else {
    ids = [];
  }
  if (principal.collectionLimit) {
    const allowed = new Set(principal.collectionLimit);
    ids = ids.filter((id) => allowed.has(id));
  }
  return ids;
}

/** Builds the context for a principal; `limitTo` narrows it further (a job's captured collections). */
export async function accessContextFor(
  db: Db,
  principal: Principal,
  opts: { requestId?: string; limitTo?: readonly string[] } = {},
): Promise<AccessContext> {
  let readable = await readableFor(db, principal);
  if (opts.limitTo) {
    const allowed = new Set(opts.limitTo);
    readable = readable.filter((id) => allowed.has(id));
  }
  const isAdmin = principal.permissions.has("admin") && principal.role === "admin" && principal.collectionLimit === null;
  return {
    db,
    principal,
    onBehalfOf: principal.userId,
    readableIds: readable,
    writableIds: principal.permissions.has("import") ? readable : [],
    isAdmin,
    requestId: opts.requestId,
  };
}

/** What a job keeps of its creator's context. */
export function actorRef(ctx: AccessContext): ActorRef {
  return {
    userId: ctx.principal.userId,
    apiKeyId: ctx.principal.apiKeyId,
    collectionIds: [...ctx.readableIds],
    label: ctx.principal.label,
  };
}

/**
 * The context a job runs with: its creator's access as it is NOW, narrowed to the collections it was
 * started with. A creator (user or key) that is gone, disabled, revoked or expired fails closed.
 */
export async function accessContextForActor(db: Db, ref: ActorRef, opts: { requestId?: string } = {}): Promise<AccessContext> {
  let principal: Principal | null = null;
  if (ref.apiKeyId) principal = await principalFromApiKeyId(db, ref.apiKeyId);
  else if (ref.userId) principal = await userPrincipal(db, ref.userId);
  if (!principal) {
    throw new ForbiddenError(`${ref.label ?? "The principal this work runs as"} no longer exists or is disabled; it has no access.`);
  }
  return accessContextFor(db, principal, { requestId: opts.requestId, limitTo: ref.collectionIds });
}

/** A user's principal from the database, or null when missing or disabled. */
export async function userPrincipal(db: Db, userId: string): Promise<Principal | null> {
  const user = await db.prisma.user.findUnique({ where: { id: userId }, select: { id: true, email: true, role: true, disabledAt: true } });
  return user ? principalOfUser(user) : null;
}

/** A user row's principal; null when disabled. */
export function principalOfUser(user: { id: string; email: string; role: string; disabledAt: Date | null }): Principal | null {
  if (user.disabledAt) return null;
  const role = user.role as Role;
  return {
    kind: "user",
    userId: user.id,
    apiKeyId: null,
    label: user.email,
    role,
    permissions: new Set(ROLE_PERMISSIONS[role] ?? []),
    collectionLimit: null,
  };
}

/**
 * The context of work no person started and that must still stay inside named collections (a Notion
 * webhook's import into its source's collection, the demo wiki). It reads and writes only those.
 */
export function systemContext(db: Db, label: string, collectionIds: readonly string[]): AccessContext {
  return {
    db,
    principal: {
      kind: "system",
      userId: null,
      apiKeyId: null,
      label,
      role: null,
      permissions: new Set<Permission>(["ask", "import"]),
      collectionLimit: [...collectionIds],
    },
    onBehalfOf: null,
    readableIds: [...collectionIds],
    writableIds: [...collectionIds],
    isAdmin: false,
  };
}
