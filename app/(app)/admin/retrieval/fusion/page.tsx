// Fusion weights (admin): per collection, how much the vector and the full-text ranking count, learned
// from an evaluation dataset's expected sources (lib/retrieve/fusion-tuning.ts).
import { requirePageAccess } from "@/app/_server/access";
import { FusionTuner } from "@/components/admin/fusion-tuner";
import { listDatasets } from "@/lib/evaluate/datasets";
import { listCollectionFusion } from "@/lib/retrieve/fusion-settings";

export const dynamic = "force-dynamic";
export const metadata = { title: "Fusion weights" };

export default async function FusionWeightsPage() {
  const access = await requirePageAccess("admin");
  const [collections, { datasets }] = await Promise.all([listCollectionFusion(access), listDatasets(access)]);
  return (
    <div className="space-y-4">
      <h1 className="text-2xl font-semibold">Fusion weights</h1>
      <p className="max-w-3xl text-sm text-zinc-600 dark:text-zinc-400">
        Search ranks passages twice, by meaning (vectors) and by words (full text), and fuses the two lists. Equal weights are plain
        reciprocal rank fusion; where one half is weaker it can pull the fused list below the better half. Pick a collection and an
        evaluation dataset whose items name their expected sources: every weighting is tried on them, and the learned one can be saved.
      </p>
      <FusionTuner collections={collections} datasets={datasets.map((d) => ({ id: d.id, name: d.name, itemCount: d.itemCount }))} />
    </div>
  );
}
