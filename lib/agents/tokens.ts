// Agent credentials and tokens. A credential (`sot_agent_<prefix>_<secret>`) only buys tokens; a token
// (`sot_at_<secret>`) is what an agent calls with. Both are stored as SHA-256 (256 random bits each, so
// a slow hash adds nothing). A token is resolved with its whole delegation chain on every call, by the
// web process and by KES alike (one statement): any link revoked, expired, or held by a disabled agent
// (or one whose owner is gone or disabled) refuses it, and its authority is the root agent's, narrowed
// by every link (cubby, operations).
//
// Circuit breakers per token: a token may carry a maximum of calls made with it and a maximum of calls
// refused or failed; its runtime is its expiry. Calls through a delegated token count on every link of its
// chain, so a child never outlasts what its parents have left. In the web process the resolution counts
// the call in the same statement (queries.ts tokenChain); a token at a limit resolves as stopped, and the
// route wrapper answers 429 "stopped: limit reached (…)" until its owner or an admin resumes it.
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
  /** The token ids of the chain, holder first (what a call counts against). */
  chainIds: string[];
  /** Calls the chain has left after this one (the tightest link), or null when no link has a call limit. */
  callsLeft: number | null;
  /** Refused or failed calls the chain may still make, or null when no link has a failure limit. */
  failuresLeft: number | null;
  /** Why the token is stopped ("5 calls", "runtime: expired at …"), or null: a stopped token's calls get 429. */
  stopped: string | null;
}

function narrow(ops: string[]): CubbyOperation[] {
  return CUBBY_OPERATIONS.filter((o) => ops.includes(o));
}

/** The hash a token is stored under, or null when the bearer is not shaped like a token. */
export function tokenHashOf(bearer: string): string | null {
  return TOKEN_RE.test(bearer) ? hashSecret(bearer) : null;
}

const plural = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;
/** Which link a limit belongs to, in the stop message. */
const whose = (link: ChainRow) => (link.depth === 0 ? "" : ` of the token it was delegated from (agent:${link.agent_name})`);

/** The first limit a chain has reached, holder first; null when none. `counting`: the call was to be counted. */
function stoppedBy(chain: ChainRow[], now: Date, counting: boolean): string | null {
  const calls = (link: ChainRow) => `${plural(link.max_calls!, "call", "calls")}${whose(link)}`;
  for (const link of chain) {
    if (link.expires_at <= now) return `runtime${whose(link)}: expired at ${link.expires_at.toISOString()}`;
    if (link.max_failures !== null && link.failures >= link.max_failures) {
      return `${plural(link.max_failures, "refused or failed call", "refused or failed calls")}${whose(link)}`;
    }
    if (counting && link.max_calls !== null && link.calls >= link.max_calls && !link.counted) return calls(link);
  }
  // A limited link that did not count the call lost the race for its last call to a concurrent one.
  const raced = counting ? chain.find((l) => l.max_calls !== null && !l.counted) : undefined;
  return raced ? calls(raced) : null;
}

/**
 * The identity of an agent bearer, or null when it is malformed, unknown, revoked, or any link of its
 * chain is (or its agent or owner is disabled). A delegated token narrowed to one cubby whose parent is
 * narrowed to another reaches no cubby at all (it is refused).
 *
 * `count: true` (the web process, once per request) counts the call against the chain's call limits in
 * the same statement and returns a token at a limit (or expired) with `stopped` set, so the caller can
 * be told so (429). Without it (KES, answering the web process's calls for the same request) nothing is
 * counted and a stopped or expired token resolves to null.
 */
export async function resolveAgentBearer(sql: SqlRunner, bearer: string, now = new Date(), opts: { count?: boolean } = {}): Promise<AgentIdentity | null> {
  const cred = CREDENTIAL_RE.exec(bearer);
  if (cred) {
    const a = await agentByCredentialHash(sql, hashSecret(bearer));
    if (!a || a.disabled_at || a.owner_disabled) return null;
    await touchAgent(sql, a.id);
    return {
      agentId: a.id, name: a.name, ownerId: a.owner_id, tokenId: null, authority: a.name, cubby: null, operations: [], expiresAt: null, chain: [a.name],
      chainIds: [], callsLeft: null, failuresLeft: null, stopped: null,
    };
  }
  const hash = tokenHashOf(bearer);
  if (!hash) return null;
  const count = opts.count === true;
  return identityFromChain(await tokenChain(sql, hash, MAX_DELEGATION_DEPTH + 1, count), now, count);
}

/**
 * A token's identity from its chain (tokenChain's rows, nearest first), or null when the chain refuses
 * it. The rules live here only: the web process and KES (which reads the chain in the same statement as
 * the key of the call) both decide through this. `counting`: the statement counted this call (the web
 * process); then a token at a limit comes back with `stopped` set instead of null.
 */
export function identityFromChain(chain: ChainRow[], now = new Date(), counting = false): AgentIdentity | null {
  if (chain.length === 0) return null;
  const root = chain[chain.length - 1]!;
  if (root.parent_id) return null; // deeper than allowed, or a parent that no longer exists
  const stopped = stoppedBy(chain, now, counting);
  if (stopped && !counting) return null;
  let cubby: string | null = null;
  let operations: CubbyOperation[] = [...CUBBY_OPERATIONS];
  let expiresAt = chain[0]!.expires_at;
  let callsLeft: number | null = null;
  let failuresLeft: number | null = null;
  for (const link of chain) {
    if (link.revoked_at || link.agent_disabled_at || link.owner_disabled) return null;
    if (link.max_calls !== null) callsLeft = Math.min(callsLeft ?? Infinity, Math.max(0, link.max_calls - link.calls));
    if (link.max_failures !== null) failuresLeft = Math.min(failuresLeft ?? Infinity, Math.max(0, link.max_failures - link.failures));
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
    chainIds: chain.map((l) => l.id),
    callsLeft,
    failuresLeft,
    stopped,
  };
}
