// Agents' SQL. Resolving a token (with its delegation chain, the agents and their owners) is one
// statement on every agent request, in the web process and in KES alike (where the same statement also
// reads the key the call is about: lib/kes/queries.ts agentKeyForCall).
import { sqlFragment, type SqlFragment, type SqlRunner } from "../db/sql-runner";

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

/**
 * `chain AS (…), links AS (…)` for a WITH RECURSIVE: the token with this hash and every token it was
 * delegated from, nearest first (depth 0 = itself), each with its agent and the agent's owner. Shared by
 * `tokenChain` and KES's one-statement check of an agent's call (lib/kes/queries.ts).
 */
export function tokenChainCtes(tokenHash: string, maxDepth: number): SqlFragment {
  return sqlFragment`
    chain AS (
      SELECT t.id, t.agent_id, t.parent_id, t.cubby, t.operations, t.expires_at, t.revoked_at, 0 AS depth
        FROM agent_tokens t WHERE t.token_hash = ${tokenHash}
      UNION ALL
      SELECT p.id, p.agent_id, p.parent_id, p.cubby, p.operations, p.expires_at, p.revoked_at, c.depth + 1
        FROM agent_tokens p JOIN chain c ON p.id = c.parent_id
       WHERE c.depth < ${maxDepth}::int
    ),
    links AS (
      SELECT c.*, a.name AS agent_name, a.disabled_at AS agent_disabled_at, a.owner_id,
             (u.id IS NULL OR u.disabled_at IS NOT NULL) AS owner_disabled
        FROM chain c JOIN agents a ON a.id = c.agent_id LEFT JOIN users u ON u.id = a.owner_id
    )`;
}

/** The token with this hash and every token it was delegated from, nearest first (depth 0 = itself). */
export async function tokenChain(sql: SqlRunner, tokenHash: string, maxDepth: number): Promise<ChainRow[]> {
  return sql<ChainRow>`WITH RECURSIVE ${tokenChainCtes(tokenHash, maxDepth)} SELECT * FROM links ORDER BY depth`;
}

/** Chain rows that came back as JSON (json_agg of `links`): times as Dates again. */
export function chainFromJson(rows: Array<Record<string, unknown>> | null): ChainRow[] {
  const date = (v: unknown) => (v == null ? null : new Date(v as string));
  return (rows ?? []).map((r) => ({
    ...(r as unknown as ChainRow),
    expires_at: date(r.expires_at)!,
    revoked_at: date(r.revoked_at),
    agent_disabled_at: date(r.agent_disabled_at),
  }));
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
    SELECT a.id, a.name, a.owner_id, a.disabled_at, (u.id IS NULL OR u.disabled_at IS NOT NULL) AS owner_disabled
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
