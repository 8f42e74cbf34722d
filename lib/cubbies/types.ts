// What the cubbies API, the typed client and the admin page exchange: defined once, times as ISO strings.
// Framework-free and free of server imports (lib/cubbies/client.ts runs outside SOT too).
import type { CubbyOperation } from "../agents/types";

export type { CubbyOperation } from "../agents/types";

/** The largest value (its JSON, in bytes) a cubby keeps. */
export const CUBBY_MAX_VALUE_BYTES = 256 * 1024;
/** Item keys: what `set`/`get` name a value by. */
export const ITEM_KEY_RE = /^[A-Za-z0-9._:-]{1,200}$/;
export const ITEM_KEY_RULE = "1-200 letters, digits, '.', '_', ':' or '-'";

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

export interface CubbyView {
  name: string;
  createdBy: string;
  createdAt: string;
  items: number;
  /** Bytes of the values' JSON (before encryption). */
  bytes: number;
  /** The cubby's KES key: its status and versions (never its material). */
  key: { status: "active" | "disabled" | "shredded"; currentVersion: number; minDecryptionVersion: number; versions: number[] };
  /** What the caller may do with it (agents); empty for the admin view. */
  operations: CubbyOperation[];
}

export interface CubbyItemMeta {
  key: string;
  version: number;
  size: number;
  /** The KES key version its data key is wrapped by. */
  keyVersion: number;
  updatedBy: string;
  updatedAt: string;
}

export interface CubbyItemView<T = JsonValue> extends CubbyItemMeta {
  value: T;
}

export interface CubbyGrantView {
  id: string;
  agent: string;
  operations: CubbyOperation[];
  expiresAt: string | null;
  createdBy: string;
  createdAt: string;
  revokedAt: string | null;
  active: boolean;
}

/** What the admin page shows of a cubby: no value, ever. */
export interface CubbyAdminView extends CubbyView {
  grants: CubbyGrantView[];
  /** Items per KES key version (rotation progress). */
  itemsByKeyVersion: Record<string, number>;
  /** The newest rewrap job of the cubby, if any. */
  rewrap: CubbyRewrapView | null;
}

/** An audit entry of agents, cubbies or KES as the admin page lists it (allowed or refused, and why). */
export interface AgentAuditEntry {
  id: string;
  at: string;
  actor: string;
  action: string;
  target: string;
  allowed: boolean | null;
  reason: string | null;
}

/** A background rewrap of a cubby's values (the admin page follows its progress). */
export interface CubbyRewrapView {
  id: string;
  cubby: string;
  status: "queued" | "running" | "succeeded" | "failed";
  /** The key version values are moved to. */
  toVersion: number | null;
  itemsTotal: number;
  itemsDone: number;
  /** Values whose data key was rewrapped (the others were under the current version already). */
  rewrapped: number;
  requestedBy: string;
  error: string | null;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
}
