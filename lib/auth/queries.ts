// Authentication's SQL on the per-request path: one statement per bearer key through `db.sql` (the key,
// its creator's current role and state), instead of Prisma's relation query.
import type { Db } from "../db/client";

export interface KeyRow {
  id: string;
  name: string;
  scopes: string[];
  collectionIds: string[];
  expiresAt: Date | null;
  revokedAt: Date | null;
  lastUsedAt: Date | null;
  parentKeyId: string | null;
  createdBy: { id: string; role: string; disabledAt: Date | null } | null;
}

interface KeyRecord {
  id: string;
  name: string;
  scopes: string[];
  collection_ids: string[];
  expires_at: Date | null;
  revoked_at: Date | null;
  last_used_at: Date | null;
  parent_key_id: string | null;
  creator_id: string | null;
  creator_role: string | null;
  creator_disabled_at: Date | null;
}

const KEY_WITH_CREATOR = `
  SELECT k.id, k.name, k.scopes, k.collection_ids, k.expires_at, k.revoked_at, k.last_used_at, k.parent_key_id,
         u.id AS creator_id, u.role AS creator_role, u.disabled_at AS creator_disabled_at
    FROM api_keys k LEFT JOIN users u ON u.id = k.created_by_id`;

const toKeyRow = (r: KeyRecord): KeyRow => ({
  id: r.id,
  name: r.name,
  scopes: r.scopes ?? [],
  collectionIds: r.collection_ids ?? [],
  expiresAt: r.expires_at,
  revokedAt: r.revoked_at,
  lastUsedAt: r.last_used_at,
  parentKeyId: r.parent_key_id,
  createdBy: r.creator_id ? { id: r.creator_id, role: r.creator_role ?? "viewer", disabledAt: r.creator_disabled_at } : null,
});

export async function keyByHash(db: Db, keyHash: string): Promise<KeyRow | null> {
  const rows = await db.sql.query<KeyRecord>(`${KEY_WITH_CREATOR} WHERE k.key_hash = $1`, [keyHash]);
  return rows[0] ? toKeyRow(rows[0]) : null;
}

export async function keyById(db: Db, id: string): Promise<KeyRow | null> {
  const rows = await db.sql.query<KeyRecord>(`${KEY_WITH_CREATOR} WHERE k.id = $1`, [id]);
  return rows[0] ? toKeyRow(rows[0]) : null;
}

export interface SessionUser {
  id: string;
  email: string;
  role: string;
  disabledAt: Date | null;
  sessionVersion: number;
}

/** The user behind a session cookie, with the session version the cookie must carry. */
export async function sessionUser(db: Db, id: string): Promise<SessionUser | null> {
  const rows = await db.sql.query<{ id: string; email: string; role: string; disabled_at: Date | null; session_version: number }>(
    "SELECT id, email, role, disabled_at, session_version FROM users WHERE id = $1",
    [id],
  );
  const r = rows[0];
  return r ? { id: r.id, email: r.email, role: r.role, disabledAt: r.disabled_at, sessionVersion: Number(r.session_version) } : null;
}

/**
 * Inserts the first administrator, only while there is no user at all: the check and the insert run under
 * one transaction-scoped advisory lock, so two simultaneous setups cannot both succeed. Null when a user
 * exists already.
 */
export async function insertFirstAdmin(db: Db, user: { email: string; name: string; passwordHash: string | null }): Promise<string | null> {
  return db.sql.transaction(async (tx) => {
    await tx`SELECT pg_advisory_xact_lock(7370001)`;
    const [row] = await tx<{ id: string }>`
      INSERT INTO users (email, name, password_hash, role)
      SELECT ${user.email}, ${user.name}, ${user.passwordHash}, 'admin' WHERE NOT EXISTS (SELECT 1 FROM users)
      RETURNING id::text AS id`;
    return row?.id ?? null;
  });
}
