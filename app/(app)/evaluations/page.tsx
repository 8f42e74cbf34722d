import Link from "next/link";
import { requirePageAccess } from "@/app/_server/access";
import { AgreementCard } from "@/components/evaluations/agreement-card";
import { DatasetImportForm } from "@/components/evaluations/dataset-import-form";
import { NewDatasetForm } from "@/components/evaluations/new-dataset-form";
import { ScoreBadge } from "@/components/evaluations/score-badge";
import { StartRunForm } from "@/components/evaluations/start-run-form";
import { TrendChart } from "@/components/evaluations/trend-chart";
import { buttonClass } from "@/components/ui/button";
import { ArrowRightIcon } from "@/components/ui/icons";
import { Card, PageHeader } from "@/components/ui/page-header";
import { StatusBadge } from "@/components/ui/status-badge";
import { Table } from "@/components/ui/table";
import { WaitingForApproval } from "@/components/ui/approval-notice";
import { listApprovals, waitingForApproval } from "@/lib/approvals";
import { getConfig } from "@/lib/config";
import { agreementFigures } from "@/lib/evaluate/annotations";
import { bindableCollections, listDatasets } from "@/lib/evaluate/datasets";
import { listRuns, runTrend } from "@/lib/evaluate/runs";

export const dynamic = "force-dynamic";

export default async function EvaluationsPage() {
  const access = await requirePageAccess("score");
  const [{ runs, hidden: hiddenRuns }, trend, { datasets, hidden: hiddenDatasets }, agreement, collections, waiting] = await Promise.all([
    listRuns(access, { limit: 50 }),
    runTrend(access),
    listDatasets(access),
    agreementFigures(access),
    bindableCollections(access),
    // The caller's own runs that wait for approval (an admin's queue is on Admin → Approvals).
    listApprovals(access, { status: "pending", limit: 20 }).then((all) => all.filter((a) => a.action === "evaluation.run" && a.requestedBy === access.principal.label)),
  ]);
  const target = getConfig().EVAL_ALERT_THRESHOLD;
  return (
    <div className="space-y-6">
      <PageHeader
        title="Evaluations"
        description="Datasets of questions, runs that answer and judge them, and the human scores beside the judge's."
        actions={
          <Link href="/evaluations/queue" className={buttonClass("secondary")}>
            Annotation queue <ArrowRightIcon size={14} />
          </Link>
        }
      />
      <TrendChart points={trend.map((t) => ({ ...t, at: t.at.toISOString() }))} target={target} />
      <AgreementCard agreement={agreement} />
      <section aria-labelledby="runs-title" className="space-y-2">
        <h2 id="runs-title" className="text-lg font-semibold">
          Runs
        </h2>
        <StartRunForm
          datasets={datasets.map((d) => ({ id: d.id, name: d.name, itemCount: d.itemCount }))}
          approvalLimit={getConfig().APPROVAL_RUN_ITEMS}
          canOpenQueue={access.isAdmin}
        />
        {waiting.map((a) => (
          <WaitingForApproval key={a.id} answer={waitingForApproval(a)} linkToQueue={access.isAdmin} />
        ))}
        <Table
          testId="runs-table"
          empty="No runs yet."
          columns={[
            { header: "Started", sortable: true },
            { header: "Dataset", sortable: true },
            { header: "Status", sortable: true },
            { header: "Items", align: "right" },
            { header: "Errors", sortable: true, align: "right" },
            { header: "Avg score", sortable: true },
            { header: "Retrieval hit", sortable: true, align: "right" },
            { header: "Trigger", sortable: true },
          ]}
          rows={runs.map((r) => ({
            key: r.id,
            sort: [r.createdAt.toISOString(), r.datasetName, r.status, null, r.errorCount, r.avgHallucination, r.retrievalHitRate, r.trigger],
            cells: [
              <Link key="t" className="whitespace-nowrap underline" href={`/evaluations/runs/${r.id}`}>
                {r.createdAt.toISOString().slice(0, 16).replace("T", " ")}
              </Link>,
              `${r.datasetName} v${r.datasetVersion}`,
              <StatusBadge key="s" status={r.status} />,
              `${r.doneCount}/${r.itemCount}`,
              r.errorCount,
              <ScoreBadge key="a" value={r.avgHallucination} target={target} />,
              r.retrievalHitRate === null ? "–" : `${(r.retrievalHitRate * 100).toFixed(0)}%`,
              r.trigger,
            ],
          }))}
        />
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
        <ul className="space-y-1 text-sm break-words" data-testid="datasets-list">
          {datasets.map((d) => (
            <li key={d.id}>
              <Link className="underline" href={`/evaluations/datasets/${d.id}`}>
                {d.name}
              </Link>{" "}
              · version {d.currentVersion} · {d.itemCount} items · {d.owner ? `owner ${d.owner}` : "owner: admins"}
              {d.lastRun && (
                <>
                  {" "}
                  · last run <ScoreBadge value={d.lastRun.avgHallucination} target={target} />
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
        <Card>
          <h3 className="mb-2 text-sm font-semibold">New dataset</h3>
          <NewDatasetForm collections={collections} />
        </Card>
        <details className="min-w-0 rounded-lg border border-zinc-200 p-3 dark:border-zinc-800">
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
