// Which collections a principal may read. Every query that returns wiki content, sources, logs or
// lists filters by this, so a user or key never sees a collection it may not.
import type { Db } from "../db/client";
import { ForbiddenError } from "../errors";
import type { Principal } from "./roles";

export async function readableCollectionIds(db: Db, principal: Principal): Promise<string[]> {
  let ids: string[];
  if (principal.role === "admin" || (principal.kind === "api_key" && principal.userId === null)) {
    ids = (await db.prisma.collection.findMany({ select: { id: true } })).map((c) => c.id);
  } else {
    const rows = await db.prisma.collection.findMany({
      where: {
        OR: [{ restricted: false }, ...(principal.userId ? [{ members: { some: { userId: principal.userId } } }] : [])],
      },
      select: { id: true },
    });
    ids = rows.map((c) => c.id);
  }
  if (principal.keyCollectionIds.length > 0) {
    const allowed = new Set(principal.keyCollectionIds);
    ids = ids.filter((id) => allowed.has(id));
  }
  return ids;
}

/**
 * The collections to work on: the requested ones if all are readable (else 403 naming them),
 * or every readable one when none are requested.
 */
export async function resolveCollections(db: Db, principal: Principal, requested?: string[] | null): Promise<string[]> {
  const readable = await readableCollectionIds(db, principal);
  if (!requested || requested.length === 0) return readable;
  const set = new Set(readable);
  const denied = requested.filter((id) => !set.has(id));
  if (denied.length > 0) {
    throw new ForbiddenError(`You may not read collection${denied.length > 1 ? "s" : ""} ${denied.join(", ")}.`);
  }
  return [...new Set(requested)];
}

export async function assertCollectionReadable(db: Db, principal: Principal, collectionId: string): Promise<void> {
  await resolveCollections(db, principal, [collectionId]);
}
