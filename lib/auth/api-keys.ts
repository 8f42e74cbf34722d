// API keys for scripts and services: shown once, stored as a SHA-256 hash (a key has 256 bits of
// entropy, so a slow hash adds nothing), with scopes, an optional collection restriction and expiry.
// A key made with another key (its parent) expires no later than the parent and dies with it.
import { createHash, randomBytes } from "node:crypto";
import type { Db } from "../db/client";
import { ValidationError } from "../errors";
import { keyByHash, keyById, type KeyRow } from "./queries";
import { PERMISSIONS, ROLE_PERMISSIONS, type Permission, type Principal, type Role } from "./roles";

const KEY_PATTERN = /^sot_([a-z0-9]{8})_([A-Za-z0-9_-]{43})$/;
const LAST_USED_RESOLUTION_MS = 60_000;
/** Parent chains longer than this are refused (a chain is followed on every request). */
export const MAX_KEY_DEPTH = 4;

export const hashApiKey = (key: string) => createHash("sha256").update(key).digest("hex");

export interface NewApiKey {
  name: string;
  scopes: Permission[];
  collectionIds?: string[];
  expiresAt?: Date | null;
  createdById: string | null;
  /** The key this one is made with, if any. */
  parentKeyId?: string | null;
}

/** Creates a key; the returned `key` is the only time the secret exists outside its holder. */
export async function createApiKey(db: Db, input: NewApiKey) {
  const bad = input.scopes.filter((s) => !PERMISSIONS.includes(s));
  if (input.scopes.length === 0 || bad.length > 0) {
    throw new ValidationError("An API key needs one or more scopes among ask, score, import, admin.", [
      { path: "scopes", message: bad.length ? `unknown scope ${bad.join(", ")}` : "empty" },
    ]);
  }
  // An admin key can create users and keys and change access lists: a collection list on it would be
  // a promise it cannot keep.
  if (input.scopes.includes("admin") && (input.collectionIds?.length ?? 0) > 0) {
    throw new ValidationError("An admin-scoped key cannot be limited to collections: it administers everything.", [
      { path: "collectionIds", message: "must be empty for a key with the admin scope" },
    ]);
  }
  let expiresAt = input.expiresAt ?? null;
  if (input.parentKeyId) {
    const parent = await db.prisma.apiKey.findUnique({ where: { id: input.parentKeyId }, select: { expiresAt: true } });
    if (!parent) throw new ValidationError("The parent key does not exist.", [{ path: "parentKeyId", message: "unknown key" }]);
    if (parent.expiresAt) {
      if (expiresAt && expiresAt > parent.expiresAt) {
        throw new ValidationError("A key made with a key cannot outlive it.", [
          { path: "expiresAt", message: `must be no later than ${parent.expiresAt.toISOString()}, when the key you use expires` },
        ]);
      }
      expiresAt ??= parent.expiresAt;
    }
  }
  const prefix = randomBytes(6).toString("hex").slice(0, 8);
  const key = `sot_${prefix}_${randomBytes(32).toString("base64url")}`;
  const record = await db.prisma.apiKey.create({
    data: {
      name: input.name,
      prefix,
      keyHash: hashApiKey(key),
      scopes: [...new Set(input.scopes)],
      collectionIds: input.collectionIds ?? [],
      expiresAt,
      createdById: input.createdById,
      parentKeyId: input.parentKeyId ?? null,
    },
  });
  return { key, record };
}

const alive = (k: KeyRow, now: Date) => !k.revokedAt && !(k.expiresAt && k.expiresAt <= now);

/**
 * A key's effective principal: its scopes ∩ its creator's current role ∩ its parent's effective
 * scopes; its collection list ∩ its parent's. Null (refused) when it or any parent is revoked or
 * expired, or its creator is missing or disabled.
 */
async function keyPrincipal(db: Db, k: KeyRow, now: Date, depth = 0): Promise<Principal | null> {
  if (depth > MAX_KEY_DEPTH || !alive(k, now)) return null;
  if (!k.createdBy || k.createdBy.disabledAt) return null;
  const role = k.createdBy.role as Role;
  const creatorPerms: readonly Permission[] = ROLE_PERMISSIONS[role] ?? [];
  let permissions = k.scopes.filter((s): s is Permission => creatorPerms.includes(s as Permission));
  let collectionLimit: string[] | null = k.collectionIds.length ? [...k.collectionIds] : null;
  // A collection-limited key never administers (keys made before that rule keep their other scopes).
  if (collectionLimit) permissions = permissions.filter((p) => p !== "admin");
  if (k.parentKeyId) {
    const parentRow = await keyById(db, k.parentKeyId);
    const parent = parentRow ? await keyPrincipal(db, parentRow, now, depth + 1) : null;
    if (!parent) return null;
    permissions = permissions.filter((p) => parent.permissions.has(p));
    if (parent.collectionLimit) {
      const allowed = new Set(parent.collectionLimit);
      collectionLimit = (collectionLimit ?? parent.collectionLimit).filter((id) => allowed.has(id));
    }
  }
  return {
    kind: "api_key",
    userId: k.createdBy.id,
    apiKeyId: k.id,
    label: `key:${k.name}`,
    role,
    permissions: new Set(permissions),
    collectionLimit,
  };
}

/** The principal for a bearer key, or null when it is unknown, revoked, expired or orphaned. */
export async function principalFromApiKey(db: Db, key: string): Promise<Principal | null> {
  if (!KEY_PATTERN.test(key)) return null;
  const record = await keyByHash(db, hashApiKey(key));
  if (!record) return null;
  const now = new Date();
  const principal = await keyPrincipal(db, record, now);
  if (principal && (!record.lastUsedAt || now.getTime() - record.lastUsedAt.getTime() > LAST_USED_RESOLUTION_MS)) {
    await db.prisma.apiKey.update({ where: { id: record.id }, data: { lastUsedAt: now } }).catch(() => {});
  }
  return principal;
}

/** The principal of a key by id (jobs started with a key re-resolve it when they run). */
export async function principalFromApiKeyId(db: Db, id: string): Promise<Principal | null> {
  const record = await keyById(db, id);
  return record ? keyPrincipal(db, record, new Date()) : null;
}
