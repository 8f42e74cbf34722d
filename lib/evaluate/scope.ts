// Which evaluation records an access context may read: one rule, written as SQL conditions that every
// query in lib/evaluate puts in its WHERE clause (the database filters; rows are never read and then
// dropped).
//
// - A dataset, a run (with its items and their scores) and an external output are bound to a set of
//   collections (`collection_ids`). They are readable when the context may read every one of them.
// - A logged answer (query log) is readable when the context may read every collection it was asked
//   over AND, for anyone but an admin, it is the context's own: the same user, asking with the same key
//   (or, on the Ask page, with none).
// - Admins read everything, including records bound to collections deleted since.
import type { AccessContext } from "../access/context";
import { Prisma } from "../db/generated/client";

const TRUE = Prisma.sql`TRUE`;
const FALSE = Prisma.sql`FALSE`;

/** `"alias"."column"` (aliases and columns are constants of this module's callers, never input). */
function column(alias: string, name: string): Prisma.Sql {
  if (!/^[a-z_]+$/.test(alias)) throw new Error(`bad SQL alias ${alias}`);
  return Prisma.raw(`"${alias}"."${name}"`);
}

/** Every collection of the row (`alias.collection_ids`) is readable by the context. */
export function boundToReadable(ctx: AccessContext, alias: string): Prisma.Sql {
  if (ctx.isAdmin) return TRUE;
  return Prisma.sql`${column(alias, "collection_ids")} <@ ${ctx.readableIds}::uuid[]`;
}

/** A dataset (alias of `datasets`) the context may see. */
export const datasetReadable = boundToReadable;
/** A run (alias of `evaluation_runs`) the context may see, and with it its items and their scores. */
export const runReadable = boundToReadable;
/** An external output (alias of `external_outputs`) the context may see. */
export const externalOutputReadable = boundToReadable;

/** A logged answer (alias of `query_logs`) the context may see. */
export function queryLogReadable(ctx: AccessContext, alias: string): Prisma.Sql {
  if (ctx.isAdmin) return TRUE;
  const { userId, kind, apiKeyId } = ctx.principal;
  if (!userId) return FALSE;
  const key = kind === "api_key" ? apiKeyId : null;
  return Prisma.sql`${column(alias, "collection_ids")} <@ ${ctx.readableIds}::uuid[]
    AND ${column(alias, "user_id")} = ${userId}::uuid
    AND ${key ? Prisma.sql`${column(alias, "api_key_id")} = ${key}::uuid` : Prisma.sql`${column(alias, "api_key_id")} IS NULL`}`;
}

/** The collections a new record made by this context from `collections` is bound to: those it may read. */
export function narrowToReadable(ctx: AccessContext, collections: readonly string[]): string[] {
  const readable = new Set(ctx.readableIds);
  return [...new Set(collections)].filter((id) => readable.has(id));
}
