// Agent credentials and tokens. A credential (`sot_agent_<prefix>_<secret>`) only buys tokens; a token
// (`sot_at_<secret>`) is what an agent calls with. Both are stored as SHA-256 (256 random bits each, so
// a slow hash adds nothing). A token is resolved with its whole delegation chain on every call, by the
// web process and by KES alike (one statement): any link revoked, expired, or held by a disabled agent
// (or one whose owner is gone or disabled) refuses it, and its authority is the root agent's, narrowed
// by every link (cubby, operations).
import { createHash, randomBytes } from "node:crypto";
import type { SqlRunner } from "../db/sql-runner";
import { agentByCredentialHash, tokenChain, touchAgent, type ChainRow } from "./queries";
import { CUBBY_OPERATIONS, type CubbyOperation } from "./types";

const CREDENTIAL_RE = /^sot_agent_([a-z0-9]{8})_([A-Za-z0-9_-]{43})$/;
const TOKEN_RE = /^sot_at_([A-Za-z0-9_-]{43})$/;
/** Delegation chains longer than this are refused (a chain is read on every call). */
export const MAX_DELEGATION_DEPTH = 4;

export const hashSecret = (s: string) => createHash("sha256").update(s).digest("hex");

export function newCredential(): { credential: string; prefix: string } {
  const prefix = randomBytes(6).toString("hex").slice(0, 8);
  return { credential: `sot_agent_${prefix}_${randomBytes(32).toString("base64url")}`, prefix };
}
export function newToken(): string {
  return `sot_at_${randomBytes(32).toString("base64url")}`;
}

/** A bearer that claims to be an agent's (well-formed or not): other bearer forms are API keys. */
export function looksLikeAgentBearer(bearer: string): boolean {
  return bearer.startsWith("sot_agent_") || bearer.startsWith("sot_at_");
}

/** Who an agent request is, as the access context and KES see it. */
export interface AgentIdentity {
  /** The agent holding the credential or token. */
  agentId: string;
  name: string;
  /** The person responsible for the agent (its owner). */
  ownerId: string | null;
  /** Null when the agent called with its credential: it may only get a token with it. */
  tokenId: string | null;
  /** The agent whose grants this token carries: itself, or the root of its delegation chain. */
  authority: string;
  /** The one cubby this token is narrowed to, or null for every cubby its authority reaches. */
  cubby: string | null;
  operations: CubbyOperation[];
  expiresAt: Date | null;
  /** The delegation chain, holder first (names), for the audit trail. */
  chain: string[];
}

function narrow(ops: string[]): CubbyOperation[] {
  return CUBBY_OPERATIONS.filter((o) => ops.includes(o));
}

/** The hash a token is stored under, or null when the bearer is not shaped like a token. */
export function tokenHashOf(bearer: string): string | null {
  return TOKEN_RE.test(bearer) ? hashSecret(bearer) : null;
}

/**
 * The identity of an agent bearer, or null when it is malformed, unknown, revoked, expired, or any link
 * of its chain is (or its agent or owner is disabled). A delegated token narrowed to one cubby whose
 * parent is narrowed to another reaches no cubby at all (it is refused).
 */
export async function resolveAgentBearer(sql: SqlRunner, bearer: string, now = new Date()): Promise<AgentIdentity | null> {
  const cred = CREDENTIAL_RE.exec(bearer);
  if (cred) {
    const a = await agentByCredentialHash(sql, hashSecret(bearer));
    if (!a || a.disabled_at || a.owner_disabled) return null;
    await touchAgent(sql, a.id);
    return { agentId: a.id, name: a.name, ownerId: a.owner_id, tokenId: null, authority: a.name, cubby: null, operations: [], expiresAt: null, chain: [a.name] };
  }
  const hash = tokenHashOf(bearer);
  if (!hash) return null;
  return identityFromChain(await tokenChain(sql, hash, MAX_DELEGATION_DEPTH + 1), now);
}

/**
 * A token's identity from its chain (tokenChain's rows, nearest first), or null when the chain refuses
 * it. The rules live here only: the web process and KES (which reads the chain in the same statement as
 * the key of the call) both decide through this.
 */
export function identityFromChain(chain: ChainRow[], now = new Date()): AgentIdentity | null {
  if (chain.length === 0) return null;
  const root = chain[chain.length - 1]!;
  if (root.parent_id) return null; // deeper than allowed, or a parent that no longer exists
  let cubby: string | null = null;
  let operations: CubbyOperation[] = [...CUBBY_OPERATIONS];
  let expiresAt = chain[0]!.expires_at;
  for (const link of chain) {
    if (link.revoked_at || link.expires_at <= now || link.agent_disabled_at || link.owner_disabled) return null;
    if (link.cubby) {
      if (cubby && cubby !== link.cubby) return null;
      cubby = link.cubby;
    }
    operations = operations.filter((o) => link.operations.includes(o));
    if (link.expires_at < expiresAt) expiresAt = link.expires_at;
  }
  const holder = chain[0]!;
  return {
    agentId: holder.agent_id,
    name: holder.agent_name,
    ownerId: holder.owner_id,
    tokenId: holder.id,
    authority: root.agent_name,
    cubby,
    operations: narrow(operations),
    expiresAt,
    chain: chain.map((l) => l.agent_name),
  };
}
