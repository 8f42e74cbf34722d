import Link from "next/link";
import { requirePageAccess } from "@/app/_server/access";
import { AgreementCard } from "@/components/evaluations/agreement-card";
import { DatasetImportForm } from "@/components/evaluations/dataset-import-form";
import { NewDatasetForm } from "@/components/evaluations/new-dataset-form";
import { ScoreBadge } from "@/components/evaluations/score-badge";
import { StartRunForm } from "@/components/evaluations/start-run-form";
import { TrendChart } from "@/components/evaluations/trend-chart";
import { agreementFigures } from "@/lib/evaluate/annotations";
import { bindableCollections, listDatasets } from "@/lib/evaluate/datasets";
import { listRuns, runTrend } from "@/lib/evaluate/runs";

export const dynamic = "force-dynamic";

export default async function EvaluationsPage() {
  const access = await requirePageAccess("score");
  const [{ runs, hidden: hiddenRuns }, trend, { datasets, hidden: hiddenDatasets }, agreement, collections] = await Promise.all([
    listRuns(access, { limit: 50 }),
    runTrend(access),
    listDatasets(access),
    agreementFigures(access),
    bindableCollections(access),
  ]);
  return (
    <div className="space-y-6">
      <div className="flex flex-wrap items-center justify-between gap-2">
        <h1 className="text-2xl font-semibold">Evaluations</h1>
        <Link href="/evaluations/queue" className="rounded-md border border-zinc-300 px-3 py-1.5 text-sm font-medium dark:border-zinc-700">
          Annotation queue →
        </Link>
      </div>
      <TrendChart points={trend.map((t) => ({ ...t, at: t.at.toISOString() }))} />
      <AgreementCard agreement={agreement} />
      <section aria-labelledby="runs-title" className="space-y-2">
        <h2 id="runs-title" className="text-lg font-semibold">
          Runs
        </h2>
        <StartRunForm datasets={datasets.map((d) => ({ id: d.id, name: d.name, itemCount: d.itemCount }))} />
        {runs.length === 0 ? (
          <p className="text-sm text-zinc-500">No runs yet.</p>
        ) : (
          <table className="w-full text-left text-sm" data-testid="runs-table">
            <thead className="text-xs uppercase text-zinc-500">
              <tr>
                <th className="py-1">Started</th>
                <th>Dataset</th>
                <th>Status</th>
                <th>Items</th>
                <th>Errors</th>
                <th>Avg score</th>
                <th>Retrieval hit</th>
                <th>Trigger</th>
              </tr>
            </thead>
            <tbody>
              {runs.map((r) => (
                <tr key={r.id} className="border-t border-zinc-200 dark:border-zinc-800">
                  <td className="py-1">
                    <Link className="underline" href={`/evaluations/runs/${r.id}`}>
                      {r.createdAt.toISOString().slice(0, 16).replace("T", " ")}
                    </Link>
                  </td>
                  <td>
                    {r.datasetName} v{r.datasetVersion}
                  </td>
                  <td>{r.status}</td>
                  <td>
                    {r.doneCount}/{r.itemCount}
                  </td>
                  <td>{r.errorCount}</td>
                  <td>
                    <ScoreBadge value={r.avgHallucination} />
                  </td>
                  <td>{r.retrievalHitRate === null ? "–" : `${(r.retrievalHitRate * 100).toFixed(0)}%`}</td>
                  <td>{r.trigger}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        {hiddenRuns > 0 && (
          <p className="text-xs text-zinc-500" data-testid="runs-hidden">
            {hiddenRuns} run{hiddenRuns === 1 ? "" : "s"} over collections you may not read {hiddenRuns === 1 ? "is" : "are"} not shown.
          </p>
        )}
      </section>
      <section aria-labelledby="datasets-title" className="space-y-2">
        <h2 id="datasets-title" className="text-lg font-semibold">
          Datasets
        </h2>
        <ul className="space-y-1 text-sm" data-testid="datasets-list">
          {datasets.map((d) => (
            <li key={d.id}>
              <Link className="underline" href={`/evaluations/datasets/${d.id}`}>
                {d.name}
              </Link>{" "}
              · version {d.currentVersion} · {d.itemCount} items · {d.owner ? `owner ${d.owner}` : "owner: admins"}
              {d.lastRun && (
                <>
                  {" "}
                  · last run <ScoreBadge value={d.lastRun.avgHallucination} />
                </>
              )}
            </li>
          ))}
        </ul>
        {hiddenDatasets > 0 && (
          <p className="text-xs text-zinc-500" data-testid="datasets-hidden">
            {hiddenDatasets} dataset{hiddenDatasets === 1 ? "" : "s"} over collections you may not read {hiddenDatasets === 1 ? "is" : "are"} not shown.
          </p>
        )}
        <NewDatasetForm collections={collections} />
        <details className="rounded-lg border border-zinc-200 p-3 dark:border-zinc-800">
          <summary className="cursor-pointer text-sm font-medium">Import a dataset (JSONL or CSV)</summary>
          <p className="my-2 text-xs text-zinc-500">
            JSONL: one object per line with <code>question</code>, optional <code>reference_answer</code> and <code>expected_sources</code>. CSV: the same
            columns (expected sources separated by |). A file with any bad line is rejected whole.
          </p>
          <DatasetImportForm collections={collections} />
        </details>
      </section>
    </div>
  );
}
