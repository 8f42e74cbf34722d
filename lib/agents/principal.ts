// An agent as a principal of the access context: no collection permission (it asks no wiki question,
// reads no collection), its reach is what KES grants its authority on cubbies and keys.
import type { Principal } from "../auth/roles";
import type { Db } from "../db/client";
import { resolveAgentBearer, type AgentIdentity } from "./tokens";

export function agentLabel(a: AgentIdentity): string {
  return a.chain.length > 1 ? `agent:${a.name} via ${a.chain.slice(1).map((n) => `agent:${n}`).join(" via ")}` : `agent:${a.name}`;
}

/**
 * The principal of an agent bearer; resolving it counts the call against the token's limits (one
 * statement). A stopped token still resolves (with `agent.stopped` set): the route wrapper answers 429.
 */
export async function agentPrincipal(db: Db, bearer: string): Promise<Principal | null> {
  const agent = await resolveAgentBearer(db.sql, bearer, new Date(), { count: true });
  if (!agent) return null;
  return {
    kind: "agent",
    userId: agent.ownerId,
    apiKeyId: null,
    label: agentLabel(agent),
    role: null,
    permissions: new Set(),
    collectionLimit: [],
    agent,
    bearer,
  };
}
