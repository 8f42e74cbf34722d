// Roles and what they may do. A route or page names the permission it needs; a role grants a set of
// permissions, an API key carries scopes (a subset of the same permissions).
import type { AgentIdentity } from "../agents/tokens";

export const PERMISSIONS = ["ask", "score", "import", "admin"] as const;
export type Permission = (typeof PERMISSIONS)[number];

export const ROLES = ["viewer", "evaluator", "admin"] as const;
export type Role = (typeof ROLES)[number];

export const ROLE_PERMISSIONS: Record<Role, readonly Permission[]> = {
  viewer: ["ask"],
  evaluator: ["ask", "score"],
  admin: ["ask", "score", "import", "admin"],
};

export interface Principal {
  /**
   * "system": work no person started (lib/access/context.ts systemContext), limited to named collections.
   * "agent": an agent with its credential or a token (lib/agents): no collection permission; it reaches
   * cubbies and KES keys by grant.
   */
  kind: "user" | "api_key" | "system" | "agent";
  /** The signed-in user, the user who created the key, or the agent's owner. */
  userId: string | null;
  apiKeyId: string | null;
  /** E-mail of the user, or the key's name, for display and the audit log. */
  label: string;
  role: Role | null;
  permissions: ReadonlySet<Permission>;
  /**
   * The collections this principal is limited to beyond its role (a key's list, intersected along its
   * parent keys); null: no limit. An empty list means no collection at all.
   */
  collectionLimit: readonly string[] | null;
  /** For kind "agent": which agent, which token, and what it carries. */
  agent?: AgentIdentity;
  /** For kind "agent": the bearer it presented, forwarded to KES (which checks it again); never logged. */
  bearer?: string;
}

export function can(principal: Principal | null | undefined, permission: Permission): boolean {
  return !!principal && principal.permissions.has(permission);
}
