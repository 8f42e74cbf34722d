// API keys for scripts and services: shown once, stored as a SHA-256 hash (a key has 256 bits of
// entropy, so a slow hash adds nothing), with scopes, an optional collection restriction and expiry.
import { createHash, randomBytes } from "node:crypto";
import type { Db } from "../db/client";
import { ValidationError } from "../errors";
import { PERMISSIONS, ROLE_PERMISSIONS, type Permission, type Principal, type Role } from "./roles";

const KEY_PATTERN = /^sot_([a-z0-9]{8})_([A-Za-z0-9_-]{43})$/;
const LAST_USED_RESOLUTION_MS = 60_000;

export const hashApiKey = (key: string) => createHash("sha256").update(key).digest("hex");

export interface NewApiKey {
  name: string;
  scopes: Permission[];
  collectionIds?: string[];
  expiresAt?: Date | null;
  createdById: string | null;
}

/** Creates a key; the returned `key` is the only time the secret exists outside its holder. */
export async function createApiKey(db: Db, input: NewApiKey) {
  const bad = input.scopes.filter((s) => !PERMISSIONS.includes(s));
  if (input.scopes.length === 0 || bad.length > 0) {
    throw new ValidationError("An API key needs one or more scopes among ask, score, import, admin.", [
      { path: "scopes", message: bad.length ? `unknown scope ${bad.join(", ")}` : "empty" },
    ]);
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
      expiresAt: input.expiresAt ?? null,
      createdById: input.createdById,
    },
  });
  return { key, record };
}

/** The principal for a bearer key, or null when it is unknown, revoked or expired. */
export async function principalFromApiKey(db: Db, key: string): Promise<Principal | null> {
  if (!KEY_PATTERN.test(key)) return null;
  const record = await db.prisma.apiKey.findUnique({
    where: { keyHash: hashApiKey(key) },
    include: { createdBy: { select: { id: true, role: true, disabledAt: true } } },
  });
  const now = new Date();
  if (!record || record.revokedAt || (record.expiresAt && record.expiresAt <= now)) return null;
  if (record.createdBy?.disabledAt) return null;
  // A key never grants more than its creator's role does today.
  const creatorPerms = record.createdBy ? ROLE_PERMISSIONS[record.createdBy.role as Role] ?? [] : PERMISSIONS;
  const permissions = new Set(record.scopes.filter((s): s is Permission => creatorPerms.includes(s as Permission)));
  if (!record.lastUsedAt || now.getTime() - record.lastUsedAt.getTime() > LAST_USED_RESOLUTION_MS) {
    await db.prisma.apiKey.update({ where: { id: record.id }, data: { lastUsedAt: now } }).catch(() => {});
  }
  return {
    kind: "api_key",
    userId: record.createdById,
    apiKeyId: record.id,
    label: `key:${record.name}`,
    role: (record.createdBy?.role as Role) ?? null,
    permissions,
    keyCollectionIds: record.collectionIds,
  };
}
