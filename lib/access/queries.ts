// The access context's SQL. Built on every request, so these are single statements through `db.sql`
// (Prisma's per-call cost would be most of the access check's time).
import type { Db } from "../db/client";

/** Every collection (administrators). */
export async function allCollectionIds(db: Db): Promise<string[]> {
  const rows = await db.sql.query<{ id: string }>("SELECT id FROM collections");
  return rows.map((r) => r.id);
}

/** The collections a user may read: every open one and the members-only ones they belong to. */
export async function collectionIdsReadableBy(db: Db, userId: string): Promise<string[]> {
  const rows = await db.sql.query<{ id: string }>(
    `SELECT c.id FROM collections c
      WHERE NOT c.restricted
         OR EXISTS (SELECT 1 FROM collection_members m WHERE m.collection_id = c.id AND m.user_id = $1)`,
    [userId],
  );
  return rows.map((r) => r.id);
}
