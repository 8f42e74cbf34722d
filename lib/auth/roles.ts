// Roles and what they may do. A route or page names the permission it needs; a role grants a set of
// permissions, an API key carries scopes (a subset of the same permissions).
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
  /** "system": work no person started (lib/access/context.ts systemContext), limited to named collections. */
  kind: "user" | "api_key" | "system";
  /** The signed-in user, or the user who created the key. */
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
}

export function can(principal: Principal | null | undefined, permission: Permission): boolean {
  return !!principal && principal.permissions.has(permission);
}
