// The views of people, keys and collections that the admin pages and /api/admin/* show: defined once,
// times as ISO strings (the same in a page's props and in the API's JSON). Components import them with
// `import type`.
import type { Permission, Role } from "../auth/roles";

export interface UserView {
  id: string;
  email: string;
  name: string;
  role: Role;
  disabled: boolean;
  disabledAt: string | null;
  hasPassword: boolean;
  lastLoginAt: string | null;
  createdAt: string;
  /** The restricted collections the person is a member of. */
  collectionIds: string[];
}

export interface KeyView {
  id: string;
  name: string;
  /** The key's public prefix, never the key itself. */
  prefix: string;
  scopes: Permission[];
  /** Empty: every collection its creator may read. */
  collectionIds: string[];
  expiresAt: string | null;
  revokedAt: string | null;
  lastUsedAt: string | null;
  createdAt: string;
  createdBy: string | null;
  createdById: string | null;
  status: "active" | "revoked" | "expired";
}

export interface CollectionAccessView {
  id: string;
  slug: string;
  name: string;
  description: string | null;
  restricted: boolean;
  documentCount: number;
  members: Array<{ userId: string; email: string }>;
}

/** A collection as a picker shows it. */
export interface CollectionOption {
  id: string;
  name: string;
}
