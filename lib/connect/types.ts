// What the Connect page shows (components import these types only).
import type { Permission } from "../auth/roles";

export interface ConnectKey {
  id: string;
  name: string;
  /** `sot_<prefix>_…`: the secret itself is stored only as a hash. */
  prefix: string;
  scopes: Permission[];
  collectionIds: string[];
  expiresAt: string | null;
  lastUsedAt: string | null;
  createdBy: string | null;
  mine: boolean;
}

/** A model of the OpenAI-compatible API, as the Connect page offers it. */
export interface ConnectModel {
  /** The model id (a collection slug, or `sot` for every readable collection). */
  id: string;
  label: string;
}
