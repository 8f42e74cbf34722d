// What a saved fusion setting keeps of the tuning that chose it (shown on the Fusion weights page). Pure,
// with type imports only, so the page's client component and the command line share it.
import type { LearnedFusion, SavedTuning } from "./fusion-settings";

export function tuningSummary(r: LearnedFusion): Omit<SavedTuning, "at"> {
  return {
    datasetId: r.dataset.id,
    datasetName: r.dataset.name,
    questions: r.questions,
    before: { ndcg: r.current.ndcg, hitRate: r.current.hitRate },
    after: { ndcg: r.best.ndcg, hitRate: r.best.hitRate },
    heldOut: r.heldOut,
  };
}
