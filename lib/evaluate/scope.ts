// Which evaluation records an access context may read: one rule, written as SQL conditions in
// lib/evaluate/queries.ts that every evaluation statement puts in its WHERE clause (the database filters;
// rows are never read and then dropped).
//
// - A dataset, a run (with its items and their scores) and an external output are bound to a set of
//   collections (`collection_ids`). They are readable when the context may read every one of them.
// - A logged answer (query log) is readable when the context may read every collection it was asked
//   over AND, for anyone but an admin, it is the context's own: the same user, asking with the same key
//   (or, on the Ask page, with none).
// - Admins read everything, including records bound to collections deleted since.
import type { AccessContext } from "../access/context";

/** The collections a new record made by this context from `collections` is bound to: those it may read. */
export function narrowToReadable(ctx: AccessContext, collections: readonly string[]): string[] {
  const readable = new Set(ctx.readableIds);
  return [...new Set(collections)].filter((id) => readable.has(id));
}
