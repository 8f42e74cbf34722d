// Passages for `retrieve: true` scoring: the wiki's own retrieval, limited to what the caller may read.
import { pickReadable, type AccessContext } from "../access/context";
import { retrieve } from "../retrieve";
import type { Passage } from "./judge-prompt";

/** The judge sees at most this many passages (the same order the Ask page would use). */
const PASSAGES = 8;

export async function retrievePassages(ctx: AccessContext, question: string, collectionIds?: string[]): Promise<Passage[]> {
  const collections = pickReadable(ctx, collectionIds);
  const r = await retrieve(question, { collectionIds: collections, k: PASSAGES, db: ctx.db });
  return r.candidates.slice(0, PASSAGES).map((c) => ({ text: c.text, title: c.title, url: c.url }));
}
