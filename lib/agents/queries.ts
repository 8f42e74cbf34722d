// Agents' SQL. Resolving a token (with its delegation chain, the agents and their owners) is one
// statement on every agent request, in the web process and in KES alike: in KES the same statement also
// reads the key the call is about (lib/kes/queries.ts agentKeyForCall); in the web process it also counts
// the call against every link of the chain that has a call limit.
import { prepared, sqlFragment, type SqlFragment, type SqlRunner } from "../db/sql-runner";

export interface ChainRow {
  id: string;
  agent_id: string;
  parent_id: string | null;
  cubby: string | null;
  operations: string[];
  expires_at: Date;
  revoked_at: Date | null;
  max_calls: number | null;
  max_failures: number | null;
  /** Calls counted on this link (including this one when it was counted); counted only on links with a limit. */
  calls: number;
  failures: number;
  /** Whether this statement counted the call on this link (false: not limited, or the call was refused). */
  counted: boolean;
  depth: number;
  agent_name: string;
  agent_disabled_at: Date | null;
  owner_id: string | null;
  owner_disabled: boolean | null;
}

/**
 * `chain AS (…), links AS (…)` for a WITH RECURSIVE: the token with this hash and every token it was
 * delegated from, nearest first (depth 0 = itself), each with its agent and the agent's owner. Shared by
 * `tokenChain` and KES's one-statement check of an agent's call (lib/kes/queries.ts).
 */
export function tokenChainCtes(tokenHash: string, maxDepth: number): SqlFragment {
  return sqlFragment`
    chain AS (
      SELECT t.id, t.agent_id, t.parent_id, t.cubby, t.operations, t.expires_at, t.revoked_at,
             t.max_calls, t.max_failures, t.calls, t.failures, 0 AS depth
        FROM agent_tokens t WHERE t.token_hash = ${tokenHash}
      UNION ALL
      SELECT p.id, p.agent_id, p.parent_id, p.cubby, p.operations, p.expires_at, p.revoked_at,
             p.max_calls, p.max_failures, p.calls, p.failures, c.depth + 1
        FROM agent_tokens p JOIN chain c ON p.id = c.parent_id
       WHERE c.depth < ${maxDepth}::int
    ),
    links AS (
      SELECT c.*, a.name AS agent_name, a.disabled_at AS agent_disabled_at, a.owner_id,
             -- SOT's own agents have no owner; any other agent whose owner is gone or disabled is refused.
             (NOT a.system AND (u.id IS NULL OR u.disabled_at IS NOT NULL)) AS owner_disabled
        FROM chain c JOIN agents a ON a.id = c.agent_id LEFT JOIN users u ON u.id = a.owner_id
    )`;
}

/**
 * The token with this hash and every token it was delegated from, nearest first (depth 0 = itself).
 * With `count`, the same statement admits the call: when every link is live and none is at a limit, each
 * link with a call limit counts it (`calls < max_calls` is re-checked on the locked row, so concurrent
 * calls never pass a limit). Links without limits are not written: an unlimited chain costs no write.
 */
export async function tokenChain(sql: SqlRunner, tokenHash: string, maxDepth: number, count = false): Promise<ChainRow[]> {
  // Prepared: planning this recursive statement costs several times what running it does, on every call.
  return prepared(sql)<ChainRow>`
    WITH RECURSIVE ${tokenChainCtes(tokenHash, maxDepth)},
    admitted AS (
      SELECT ${count}::boolean
             AND bool_and(revoked_at IS NULL AND expires_at > now() AND agent_disabled_at IS NULL AND NOT owner_disabled
                          AND (max_calls IS NULL OR calls < max_calls) AND (max_failures IS NULL OR failures < max_failures))
             AND bool_or(parent_id IS NULL) AS ok
        FROM links
    ),
    counted AS (
      UPDATE agent_tokens t SET calls = t.calls + 1
        FROM links l, admitted
       WHERE admitted.ok AND t.id = l.id AND t.max_calls IS NOT NULL AND t.calls < t.max_calls
      RETURNING t.id, t.calls
    )
    SELECT l.id, l.agent_id, l.parent_id, l.cubby, l.operations, l.expires_at, l.revoked_at, l.max_calls, l.max_failures,
           COALESCE(k.calls, l.calls) AS calls, l.failures, k.id IS NOT NULL AS counted, l.depth,
           l.agent_name, l.agent_disabled_at, l.owner_id, l.owner_disabled
      FROM links l LEFT JOIN counted k ON k.id = l.id
     ORDER BY l.depth`;
}

/** Chain rows that came back as JSON (json_agg of `links`): times as Dates again; KES counts nothing. */
export function chainFromJson(rows: Array<Record<string, unknown>> | null): ChainRow[] {
  const date = (v: unknown) => (v == null ? null : new Date(v as string));
  return (rows ?? []).map((r) => ({
    ...(r as unknown as ChainRow),
    counted: false,
    expires_at: date(r.expires_at)!,
    revoked_at: date(r.revoked_at),
    agent_disabled_at: date(r.agent_disabled_at),
  }));
}

/** One refused or failed call made with a token: counted on each link of its chain that has a failure limit. */
export async function countTokenFailure(sql: SqlRunner, chainIds: string[]): Promise<void> {
  await sql`UPDATE agent_tokens SET failures = failures + 1 WHERE id = ANY(${chainIds}::uuid[]) AND max_failures IS NOT NULL`;
}

/** One model call made by an agent's work: counted like a call on each link of its chain that has a call limit. */
export async function countTokenCall(sql: SqlRunner, chainIds: string[]): Promise<void> {
  await sql`UPDATE agent_tokens SET calls = calls + 1 WHERE id = ANY(${chainIds}::uuid[]) AND max_calls IS NOT NULL`;
}

export interface AgentAuthRow {
  id: string;
  name: string;
  owner_id: string | null;
  disabled_at: Date | null;
  owner_disabled: boolean;
}

export async function agentByCredentialHash(sql: SqlRunner, hash: string): Promise<AgentAuthRow | null> {
  const rows = await sql<AgentAuthRow>`
    SELECT a.id, a.name, a.owner_id, a.disabled_at, (NOT a.system AND (u.id IS NULL OR u.disabled_at IS NOT NULL)) AS owner_disabled
      FROM agents a LEFT JOIN users u ON u.id = a.owner_id WHERE a.credential_hash = ${hash}`;
  return rows[0] ?? null;
}

export async function agentNamesExisting(sql: SqlRunner, names: string[]): Promise<Array<{ name: string; disabled: boolean }>> {
  return sql<{ name: string; disabled: boolean }>`
    SELECT name, disabled_at IS NOT NULL AS disabled FROM agents WHERE name = ANY(${names}::text[])`;
}

export async function touchAgent(sql: SqlRunner, agentId: string): Promise<void> {
  await sql`UPDATE agents SET last_used_at = now()
             WHERE id = ${agentId}::uuid AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute')`;
}

// Any constant other transaction-scoped locks do not use (7370001: first admin).
const SYSTEM_AGENTS_LOCK = 7370011;

/** Waits for the system agents' set-up lock (held until the transaction ends): one process sets them up. */
export async function waitForSystemAgentsLock(tx: SqlRunner): Promise<void> {
  await tx`SELECT 1 AS ok FROM (SELECT pg_advisory_xact_lock(${SYSTEM_AGENTS_LOCK})) l`;
}

/**
 * Inserts SOT's own agent unless it exists (its credential hash is of a secret nobody keeps); returns
 * whether it is a system agent (false: an admin's agent holds the name, and SOT refuses to adopt it).
 */
export async function ensureSystemAgent(sql: SqlRunner, a: { name: string; description: string; credentialPrefix: string; credentialHash: string }): Promise<boolean> {
  await sql`
    INSERT INTO agents (name, description, credential_prefix, credential_hash, system)
    VALUES (${a.name}, ${a.description}, ${a.credentialPrefix}, ${a.credentialHash}, true)
    ON CONFLICT (name) DO NOTHING`;
  const rows = await sql<{ system: boolean }>`SELECT system FROM agents WHERE name = ${a.name}`;
  return rows[0]?.system === true;
}

/** A token SOT issues to one of its own agents (stored as its hash, like every token). */
export async function insertSystemToken(
  sql: SqlRunner,
  t: { agent: string; tokenHash: string; cubby: string | null; operations: string[]; expiresAt: Date },
): Promise<string | null> {
  const rows = await sql<{ id: string }>`
    INSERT INTO agent_tokens (agent_id, token_hash, cubby, operations, expires_at)
    SELECT id, ${t.tokenHash}, ${t.cubby}, ${t.operations}::text[], ${t.expiresAt}
      FROM agents WHERE name = ${t.agent} AND system AND disabled_at IS NULL
    RETURNING id::text AS id`;
  return rows[0]?.id ?? null;
}
