// What the retrieval admin pages and their API calls show, defined once. Components import these with
// `import type` (erased from the browser bundle).
import type { TuningResult } from "./fusion-tuning";

export interface CollectionFusionView {
  id: string;
  name: string;
  slug: string;
  vectorWeight: number;
  textWeight: number;
  /** null: RETRIEVE_CANDIDATES. */
  candidates: number | null;
  defaultCandidates: number;
  /** What the tuning that chose these measured (or null: never tuned). */
  tuning: SavedTuning | null;
}

export interface SavedTuning {
  datasetId: string;
  datasetName: string;
  at: string;
  questions: number;
  before: { ndcg: number; hitRate: number };
  after: { ndcg: number; hitRate: number };
  heldOut: { current: number; learned: number };
}

export interface LearnedFusion extends TuningResult {
  collection: { id: string; name: string };
  dataset: { id: string; name: string; version: number };
}
