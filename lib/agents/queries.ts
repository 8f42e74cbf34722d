// Agents' SQL. Resolving a token (with its delegation chain, the agents and their owners) is one
// statement on every agent request, in the web process and in KES alike.
import type { SqlRunner } from "../db/sql-runner";

export interface ChainRow {
  id: string;
  agent_id: string;
  parent_id: string | null;
  cubby: string | null;
  operations: string[];
  expires_at: Date;
  revoked_at: Date | null;
  depth: number;
  agent_name: string;
  agent_disabled_at: Date | null;
  owner_id: string | null;
  owner_disabled: boolean | null;
}

/** The token with this hash and every token it was delegated from, nearest first (depth 0 = itself). */
export async function tokenChain(sql: SqlRunner, tokenHash: string, maxDepth: number): Promise<ChainRow[]> {
  return sql<ChainRow>`
    WITH RECURSIVE chain AS (
      SELECT t.id, t.agent_id, t.parent_id, t.cubby, t.operations, t.expires_at, t.revoked_at, 0 AS depth
        FROM agent_tokens t WHERE t.token_hash = ${tokenHash}
      UNION ALL
      SELECT p.id, p.agent_id, p.parent_id, p.cubby, p.operations, p.expires_at, p.revoked_at, c.depth + 1
        FROM agent_tokens p JOIN chain c ON p.id = c.parent_id
       WHERE c.depth < ${maxDepth}::int
    )
    SELECT c.*, a.name AS agent_name, a.disabled_at AS agent_disabled_at, a.owner_id,
           -- SOT's own agents have no owner; any other agent whose owner is gone or disabled is refused.
           (NOT a.system AND (u.id IS NULL OR u.disabled_at IS NOT NULL)) AS owner_disabled
      FROM chain c JOIN agents a ON a.id = c.agent_id LEFT JOIN users u ON u.id = a.owner_id
     ORDER BY c.depth`;
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
