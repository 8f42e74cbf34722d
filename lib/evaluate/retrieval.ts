// Passages for `retrieve: true` scoring: the wiki's own retrieval, limited to what the caller may read.
import { resolveCollections } from "../auth/access";
import type { Principal } from "../auth/roles";
import { getDb } from "../db/client";
import { retrieve } from "../retrieve";
import type { Passage } from "./judge";

/** The judge sees at most this many passages (the same order the Ask page would use). */
const PASSAGES = 8;

export async function retrievePassages(question: string, principal: Principal, collectionIds?: string[]): Promise<Passage[]> {
  const db = await getDb();
  const collections = await resolveCollections(db, principal, collectionIds);
  const r = await retrieve(question, { collectionIds: collections, k: PASSAGES, db });
  return r.candidates.slice(0, PASSAGES).map((c) => ({ text: c.text, title: c.title, url: c.url }));
}
