// Agents: made and disabled by admins (each belongs to the admin who made it), they exchange their
// credential for short-lived tokens and delegate narrower tokens to other agents. A delegated token never
// carries more than its parent: one cubby at most (the parent's, when it has one), a subset of its
// operations, an expiry no later than its own; it dies with any link of its chain (lib/agents/tokens.ts).
import { agentOf, requireAdmin, type AccessContext } from "../access/context";
import { auditAs } from "../audit";
import { ConflictError, ForbiddenError, NotFoundError, ValidationError } from "../errors";
import { hashSecret, MAX_DELEGATION_DEPTH, newCredential, newToken } from "./tokens";
import { CUBBY_OPERATIONS, type AgentTokenView, type AgentView, type CubbyOperation, type IssuedTokenView, type NewAgentView } from "./types";

/** Agent and cubby names: what grants and KES key names are made of. */
export const NAME_RE = /^[a-z0-9][a-z0-9._-]{0,63}$/;
export const NAME_RULE = "1-64 lower-case letters, digits, '.', '_' or '-', starting with a letter or digit";
/** A token's lifetime when none is asked for, and the longest one may be. */
export const TOKEN_TTL_DEFAULT_SECONDS = 15 * 60;
export const TOKEN_TTL_MAX_SECONDS = 24 * 60 * 60;

type AgentRow = {
  id: string; name: string; description: string | null; disabledAt: Date | null; lastUsedAt: Date | null; createdAt: Date;
  system?: boolean; owner: { email: string } | null; tokens?: Array<{ id: string }>;
};

function agentView(a: AgentRow): AgentView {
  return {
    id: a.id,
    name: a.name,
    description: a.description,
    // SOT's own agents (lib/agents/system.ts) belong to no person.
    owner: a.owner?.email ?? (a.system ? "SOT (system agent)" : null),
    status: a.disabledAt ? "disabled" : "active",
    lastUsedAt: a.lastUsedAt?.toISOString() ?? null,
    createdAt: a.createdAt.toISOString(),
    liveTokens: a.tokens?.length ?? 0,
  };
}

type TokenRow = {
  id: string; cubby: string | null; operations: string[]; expiresAt: Date; revokedAt: Date | null; createdAt: Date;
  maxCalls: number | null; maxFailures: number | null; calls: number; failures: number;
  agent: { name: string }; parent: { agent: { name: string } } | null;
};

const atLimit = (t: Pick<TokenRow, "maxCalls" | "maxFailures" | "calls" | "failures">) =>
  (t.maxCalls !== null && t.calls >= t.maxCalls) || (t.maxFailures !== null && t.failures >= t.maxFailures);

function tokenView(t: TokenRow, now = Date.now()): AgentTokenView {
  return {
    id: t.id,
    agent: t.agent.name,
    delegatedBy: t.parent?.agent.name ?? null,
    cubby: t.cubby,
    operations: CUBBY_OPERATIONS.filter((o) => t.operations.includes(o)),
    expiresAt: t.expiresAt.toISOString(),
    revokedAt: t.revokedAt?.toISOString() ?? null,
    createdAt: t.createdAt.toISOString(),
    limits: { maxCalls: t.maxCalls, maxFailures: t.maxFailures },
    calls: t.calls,
    failures: t.failures,
    status: t.revokedAt ? "revoked" : t.expiresAt.getTime() <= now ? "expired" : atLimit(t) ? "stopped" : "active",
  };
}

const TOKEN_INCLUDE = { agent: { select: { name: true } }, parent: { select: { agent: { select: { name: true } } } } } as const;
const liveTokens = () => ({ where: { revokedAt: null, expiresAt: { gt: new Date() } }, select: { id: true } });

export async function createAgent(ctx: AccessContext, input: { name: string; description?: string | null }): Promise<NewAgentView> {
  requireAdmin(ctx);
  if (!NAME_RE.test(input.name)) throw new ValidationError(`Agent name "${input.name}" is not valid.`, [{ path: "name", message: NAME_RULE }]);
  const { credential, prefix } = newCredential();
  const exists = await ctx.db.prisma.agent.findUnique({ where: { name: input.name }, select: { id: true } });
  if (exists) throw new ConflictError(`An agent named "${input.name}" already exists.`);
  const a = await ctx.db.prisma.agent.create({
    data: { name: input.name, description: input.description ?? null, ownerId: ctx.principal.userId, credentialPrefix: prefix, credentialHash: hashSecret(credential) },
    include: { owner: { select: { email: true } } },
  });
  await auditAs(ctx, "agent.create", `agent:${a.name}`, { agentId: a.id });
  return { agent: agentView(a), credential };
}

export async function listAgents(ctx: AccessContext): Promise<AgentView[]> {
  requireAdmin(ctx);
  const rows = await ctx.db.prisma.agent.findMany({ orderBy: { name: "asc" }, include: { owner: { select: { email: true } }, tokens: liveTokens() } });
  return rows.map(agentView);
}

/** Disabling an agent refuses its credential and every token it holds or delegated, at once. */
export async function setAgentDisabled(ctx: AccessContext, name: string, disabled: boolean): Promise<AgentView> {
  requireAdmin(ctx);
  const a = await ctx.db.prisma.agent.findUnique({ where: { name } });
  if (!a) throw new NotFoundError(`Agent "${name}"`);
  const row = await ctx.db.prisma.agent.update({
    where: { id: a.id },
    data: { disabledAt: disabled ? (a.disabledAt ?? new Date()) : null },
    include: { owner: { select: { email: true } }, tokens: liveTokens() },
  });
  await auditAs(ctx, disabled ? "agent.disable" : "agent.enable", `agent:${name}`);
  return agentView(row);
}

export async function listTokens(ctx: AccessContext, opts: { agent?: string; limit?: number } = {}): Promise<AgentTokenView[]> {
  requireAdmin(ctx);
  const rows = await ctx.db.prisma.agentToken.findMany({
    where: opts.agent ? { agent: { name: opts.agent } } : {},
    orderBy: { createdAt: "desc" },
    take: Math.min(Math.max(opts.limit ?? 100, 1), 500),
    include: TOKEN_INCLUDE,
  });
  const now = Date.now();
  return rows.map((t) => tokenView(t, now));
}

/** Revokes a token and, with it, every token delegated from it (their chains no longer resolve). */
export async function revokeToken(ctx: AccessContext, id: string): Promise<AgentTokenView> {
  requireAdmin(ctx);
  const t = await ctx.db.prisma.agentToken.findUnique({ where: { id }, include: TOKEN_INCLUDE });
  if (!t) throw new NotFoundError(`Agent token ${id}`);
  const row = await ctx.db.prisma.agentToken.update({ where: { id }, data: { revokedAt: t.revokedAt ?? new Date() }, include: TOKEN_INCLUDE });
  await auditAs(ctx, "agent.token.revoke", `agent:${t.agent.name}`, { id });
  return tokenView(row);
}

export interface ResumeTokenInput {
  /** New limits (omitted: kept; null: none). Counts start again from zero either way. */
  maxCalls?: number | null;
  maxFailures?: number | null;
  /** A new expiry, seconds from now (at most 24 hours, never past a parent's): resumes an expired token. */
  ttlSeconds?: number;
}

/**
 * Resumes a token stopped at a limit (or raises its limits before it gets there): its counts start again
 * from zero, with new limits when given, and a new expiry when asked for. A delegated token is never given
 * more than its parent chain has left. For the agent's owner or an admin (agents belong to admins);
 * audited. A revoked token stays revoked (409).
 */
export async function resumeToken(ctx: AccessContext, id: string, input: ResumeTokenInput): Promise<AgentTokenView> {
  requireAdmin(ctx);
  const t = await ctx.db.prisma.agentToken.findUnique({ where: { id }, include: TOKEN_INCLUDE });
  if (!t) throw new NotFoundError(`Agent token ${id}`);
  if (t.revokedAt) throw new ConflictError(`Agent token ${id} is revoked; a revoked token cannot be resumed (issue a new one).`);
  // What the chain above it has left (its parents' own limits and counts, and the earliest expiry).
  const parents = t.parentId ? await parentChainLeft(ctx, t.parentId) : null;
  if (parents?.stopped) {
    throw new ConflictError(`The token it was delegated from is stopped (${parents.stopped}); resume that one first.`);
  }
  checkWithinParent("maxCalls", input.maxCalls !== undefined ? input.maxCalls : t.maxCalls, parents?.callsLeft ?? null);
  checkWithinParent("maxFailures", input.maxFailures !== undefined ? input.maxFailures : t.maxFailures, parents?.failuresLeft ?? null);
  let expiresAt = t.expiresAt;
  if (input.ttlSeconds !== undefined) {
    expiresAt = new Date(Date.now() + input.ttlSeconds * 1000);
    if (parents && expiresAt > parents.expiresAt) {
      throw new ValidationError("A delegated token cannot outlive its parent.", [
        { path: "ttlSeconds", message: `must end no later than ${parents.expiresAt.toISOString()}, when the token it is delegated from expires` },
      ]);
    }
  }
  const row = await ctx.db.prisma.agentToken.update({
    where: { id },
    data: {
      calls: 0,
      failures: 0,
      expiresAt,
      ...(input.maxCalls !== undefined ? { maxCalls: input.maxCalls } : {}),
      ...(input.maxFailures !== undefined ? { maxFailures: input.maxFailures } : {}),
    },
    include: TOKEN_INCLUDE,
  });
  await auditAs(ctx, "agent.token.resume", `agent:${t.agent.name}`, {
    id, maxCalls: row.maxCalls, maxFailures: row.maxFailures, expiresAt: row.expiresAt.toISOString(), was: { calls: t.calls, failures: t.failures },
  });
  return tokenView(row);
}

/** The remainder of a chain of tokens starting at `id` (the parent of the token being resumed). */
async function parentChainLeft(ctx: AccessContext, id: string) {
  let callsLeft: number | null = null;
  let failuresLeft: number | null = null;
  let expiresAt = new Date(8.64e15);
  let stopped: string | null = null;
  let next: string | null = id;
  for (let depth = 0; next && depth <= MAX_DELEGATION_DEPTH; depth++) {
    const p: { parentId: string | null; maxCalls: number | null; maxFailures: number | null; calls: number; failures: number; expiresAt: Date; revokedAt: Date | null } | null =
      await ctx.db.prisma.agentToken.findUnique({ where: { id: next }, select: { parentId: true, maxCalls: true, maxFailures: true, calls: true, failures: true, expiresAt: true, revokedAt: true } });
    if (!p) break;
    if (p.maxCalls !== null) callsLeft = Math.min(callsLeft ?? Infinity, Math.max(0, p.maxCalls - p.calls));
    if (p.maxFailures !== null) failuresLeft = Math.min(failuresLeft ?? Infinity, Math.max(0, p.maxFailures - p.failures));
    if (p.expiresAt < expiresAt) expiresAt = p.expiresAt;
    if (!stopped && (p.revokedAt || p.expiresAt.getTime() <= Date.now() || atLimit(p))) stopped = p.revokedAt ? "revoked" : p.expiresAt.getTime() <= Date.now() ? "expired" : "at its limit";
    next = p.parentId;
  }
  return { callsLeft, failuresLeft, expiresAt, stopped };
}

export interface TokenRequest {
  /** The agent the token is for: the caller itself (default) or, when delegating, another agent. */
  agent?: string;
  cubby?: string | null;
  operations?: CubbyOperation[];
  /** Seconds from now; or an absolute expiresAt. Default 15 minutes, at most 24 hours. */
  ttlSeconds?: number;
  expiresAt?: string;
  /** Circuit breakers (default: none of its own; a delegated token is bounded by its parents anyway). */
  maxCalls?: number | null;
  maxFailures?: number | null;
}

/**
 * A delegated token may not be given more calls or failures than its parent chain has left: `left` is
 * the tightest link's remainder (null: no link limits it).
 */
function checkWithinParent(field: "maxCalls" | "maxFailures", asked: number | null | undefined, left: number | null): void {
  // No limit of its own: its calls still count against its parents' limits.
  if (asked == null || left === null) return;
  if (asked > left) {
    throw new ValidationError("A delegated token cannot be given more than its parent has left.", [
      { path: field, message: `at most ${left}: what the token it is delegated from has left` },
    ]);
  }
}

/**
 * An agent's token. Called with the agent's credential: a token of its own (its own authority). Called
 * with a token: a token delegated from it, for itself or another agent, narrowed and never wider.
 */
export async function issueToken(ctx: AccessContext, input: TokenRequest): Promise<IssuedTokenView> {
  const caller = ctx.principal.agent;
  if (ctx.principal.kind !== "agent" || !caller) throw new ForbiddenError("Only agents get agent tokens: call with an agent credential or token.");
  const parent = caller.tokenId ? agentOf(ctx).agent : null;
  const now = Date.now();
  const holderName = input.agent ?? caller.name;
  if (!parent && holderName !== caller.name) {
    throw new ForbiddenError("An agent's credential buys tokens for that agent only; to give another agent a token, delegate with a token of yours.");
  }
  const holder = await ctx.db.prisma.agent.findUnique({ where: { name: holderName }, select: { id: true, name: true, disabledAt: true } });
  if (!holder || holder.disabledAt) {
    throw new NotFoundError(`Agent "${holderName}" (unknown agent${holder?.disabledAt ? ": it is disabled" : ""})`);
  }
  let expiresAt =
    input.expiresAt !== undefined ? new Date(input.expiresAt) : new Date(now + 1000 * (input.ttlSeconds ?? TOKEN_TTL_DEFAULT_SECONDS));
  if (!(expiresAt.getTime() > now)) throw new ValidationError("The token would already be expired.", [{ path: "expiresAt", message: "must be in the future" }]);
  if (expiresAt.getTime() > now + TOKEN_TTL_MAX_SECONDS * 1000) {
    throw new ValidationError("Agent tokens are short-lived.", [{ path: input.expiresAt ? "expiresAt" : "ttlSeconds", message: `at most ${TOKEN_TTL_MAX_SECONDS} seconds from now` }]);
  }
  const operations = [...new Set(input.operations ?? parent?.operations ?? CUBBY_OPERATIONS)];
  let cubby = input.cubby ?? null;
  if (cubby !== null && !NAME_RE.test(cubby)) throw new ValidationError(`Cubby name "${cubby}" is not valid.`, [{ path: "cubby", message: NAME_RULE }]);
  if (parent) {
    if (caller.chain.length >= MAX_DELEGATION_DEPTH) {
      throw new ForbiddenError(`Delegation chains are at most ${MAX_DELEGATION_DEPTH} tokens deep; this token cannot delegate further.`);
    }
    const wider = operations.filter((o) => !parent.operations.includes(o));
    if (wider.length) throw new ForbiddenError(`A delegated token cannot widen its parent: yours does not carry ${wider.join(", ")}.`);
    if (parent.cubby) {
      if (cubby && cubby !== parent.cubby) throw new ForbiddenError(`A delegated token cannot widen its parent: yours is for cubby "${parent.cubby}" only.`);
      cubby = parent.cubby;
    }
    if (parent.expiresAt && expiresAt > parent.expiresAt) {
      if (input.expiresAt !== undefined || input.ttlSeconds !== undefined) {
        throw new ValidationError("A delegated token cannot outlive its parent.", [
          { path: input.expiresAt !== undefined ? "expiresAt" : "ttlSeconds", message: `must end no later than ${parent.expiresAt.toISOString()}, when your token expires` },
        ]);
      }
      expiresAt = parent.expiresAt;
    }
    // Calls through the new token count against its parents too; asking for more than they have left is refused.
    checkWithinParent("maxCalls", input.maxCalls, parent.callsLeft);
    checkWithinParent("maxFailures", input.maxFailures, parent.failuresLeft);
  }
  const token = newToken();
  const maxCalls = input.maxCalls ?? null;
  const maxFailures = input.maxFailures ?? null;
  const row = await ctx.db.prisma.agentToken.create({
    data: { agentId: holder.id, parentId: parent?.tokenId ?? null, tokenHash: hashSecret(token), cubby, operations, expiresAt, maxCalls, maxFailures },
    include: TOKEN_INCLUDE,
  });
  await auditAs(ctx, parent ? "agent.token.delegate" : "agent.token.issue", `agent:${holder.name}`, {
    id: row.id, cubby, operations, expiresAt: expiresAt.toISOString(), maxCalls, maxFailures,
  });
  return { token, view: tokenView(row) };
}
