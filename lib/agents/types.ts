// What the agents API and the admin page show of agents and their tokens: defined once, times as ISO
// strings. Never a credential or a token (those are shown once, when made).

/** What a cubby grant or an agent token may do: read values, write them, grant others. */
export const CUBBY_OPERATIONS = ["read", "write", "grant"] as const;
export type CubbyOperation = (typeof CUBBY_OPERATIONS)[number];

export interface AgentView {
  id: string;
  name: string;
  description: string | null;
  owner: string | null;
  status: "active" | "disabled";
  lastUsedAt: string | null;
  createdAt: string;
  /** Tokens neither expired nor revoked. */
  liveTokens: number;
}

export interface AgentTokenView {
  id: string;
  agent: string;
  /** The agent whose token this one was delegated from; null for a token from the agent's credential. */
  delegatedBy: string | null;
  cubby: string | null;
  operations: CubbyOperation[];
  expiresAt: string;
  revokedAt: string | null;
  createdAt: string;
  /**
   * Circuit breakers: calls made with it (counted while it has a call limit; calls through tokens delegated
   * from it count too) and refused or failed calls (counted while it has a failure limit); null: no limit.
   * Its runtime is expiresAt.
   */
  limits: { maxCalls: number | null; maxFailures: number | null };
  calls: number;
  failures: number;
  /** stopped: at its call or failure limit; its calls get 429 until it is resumed (an expired one is resumed by a new expiry). */
  status: "active" | "expired" | "revoked" | "stopped";
}

/** A new agent, with its credential: the only time the credential exists outside its holder. */
export interface NewAgentView {
  agent: AgentView;
  credential: string;
}

/** A new token: the only time it exists outside its holder. */
export interface IssuedTokenView {
  token: string;
  view: AgentTokenView;
}
