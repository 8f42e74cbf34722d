// The retrieval test (admin): for a question, the candidates of every stage — vector, full-text, fused and
// reranked — over one collection the caller reads, or over all of them.
import { requireAdmin, type AccessContext } from "../access/context";
import { retrieve, type RetrieveResult } from "./index";

/** Null for an empty question; a collection the caller may not read is ignored (all readable ones are searched). */
export async function retrievalStages(ctx: AccessContext, input: { query: string; collectionId?: string }): Promise<RetrieveResult | null> {
  requireAdmin(ctx);
  const query = input.query.trim().slice(0, 2000);
  if (!query) return null;
  const chosen = input.collectionId && ctx.readableIds.includes(input.collectionId) ? [input.collectionId] : ctx.readableIds;
  return retrieve(query, { collectionIds: chosen, allStages: true, db: ctx.db });
}
