// Which fusion weights and how many candidates a search uses: each collection keeps its own (learned from
// an evaluation dataset by fusion-tuning.ts, or left equal). Read on every question, so the few rows are
// cached for a short while; a save in this process clears the cache at once, other processes see it
// within FUSION_CACHE_MS.
import type { Db } from "../db/client";
import { collectionFusionRows, type CollectionFusionRow } from "./queries";
import { EQUAL_WEIGHTS, type FusionWeights } from "./search";

export const FUSION_CACHE_MS = 30_000;
const cache = new WeakMap<Db, { at: number; rows: Promise<Map<string, CollectionFusionRow>> }>();

function settings(db: Db): Promise<Map<string, CollectionFusionRow>> {
  const hit = cache.get(db);
  if (hit && Date.now() - hit.at < FUSION_CACHE_MS) return hit.rows;
  const rows = collectionFusionRows(db).then((list) => new Map(list.map((r) => [r.id, r])));
  // A failed read is not cached.
  rows.catch(() => cache.delete(db));
  cache.set(db, { at: Date.now(), rows });
  return rows;
}

export function forgetFusionSettings(db: Db): void {
  cache.delete(db);
}

export interface SearchFusion {
  weights: FusionWeights | "per-collection";
  /** Candidates per stage: the largest any searched collection asks for. */
  perStage: number;
}

/**
 * The fusion for a search over `collectionIds` (null: every collection): one pair of weights when the
 * collections agree (the statement then needs no per-row lookup), else "per-collection".
 */
export async function fusionFor(db: Db, collectionIds: readonly string[] | null, defaultCandidates: number): Promise<SearchFusion> {
  const all = await settings(db);
  const rows = collectionIds ? collectionIds.map((id) => all.get(id)).filter((r): r is CollectionFusionRow => !!r) : [...all.values()];
  if (rows.length === 0) return { weights: EQUAL_WEIGHTS, perStage: defaultCandidates };
  const perStage = Math.max(...rows.map((r) => r.candidates ?? defaultCandidates));
  const first = rows[0]!;
  const same = rows.every((r) => r.vectorWeight === first.vectorWeight && r.textWeight === first.textWeight);
  return { weights: same ? { vector: first.vectorWeight, text: first.textWeight } : "per-collection", perStage };
}
