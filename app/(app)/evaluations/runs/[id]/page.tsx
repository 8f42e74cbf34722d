import Link from "next/link";
import { notFound } from "next/navigation";
import { requirePageAccess } from "@/app/_server/access";
import { ScoreBadge } from "@/components/evaluations/score-badge";
import { AutoRefresh } from "@/components/ui/auto-refresh";
import { Button } from "@/components/ui/button";
import { controlClass } from "@/components/ui/field";
import { StatusBadge } from "@/components/ui/status-badge";
import { Table } from "@/components/ui/table";
import { getConfig } from "@/lib/config";
import { NotFoundError } from "@/lib/errors";
import { getRunDetail, listRuns } from "@/lib/evaluate/runs";

export const dynamic = "force-dynamic";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const pct = (v: number | null) => (v === null ? "–" : `${(v * 100).toFixed(0)}%`);

export default async function RunPage({ params, searchParams }: { params: Promise<{ id: string }>; searchParams: Promise<{ baseline?: string }> }) {
  const access = await requirePageAccess("score");
  const { id } = await params;
  const { baseline } = await searchParams;
  if (!UUID.test(id)) notFound();
  // A run outside the viewer's collections is "not found", exactly like one that does not exist.
  const detail = await getRunDetail(access, id, baseline && UUID.test(baseline) ? { baselineRunId: baseline } : {}).catch((err) => {
    if (err instanceof NotFoundError) notFound();
    throw err;
  });
  const { run, items } = detail;
  const others = (await listRuns(access, { datasetId: run.datasetId })).runs.filter((r) => r.id !== run.id && r.status === "completed");
  const active = run.status === "queued" || run.status === "running";
  const target = getConfig().EVAL_ALERT_THRESHOLD;
  return (
    <div className="space-y-6">
      <AutoRefresh active={active} />
      <div>
        <Link href="/evaluations" className="text-sm underline">
          ← Evaluations
        </Link>
        <h1 className="text-2xl font-semibold break-words">
          Run of {run.datasetName} v{run.datasetVersion}
        </h1>
        <p className="text-sm text-zinc-500">
          <StatusBadge status={run.status} testId="run-status" /> · {run.trigger} · judge {run.judgeModel} ({run.promptVersion}) · started{" "}
          {run.createdAt.toISOString().slice(0, 16).replace("T", " ")}
          {run.baselineRunId && (
            <>
              {" "}
              · baseline{" "}
              <Link className="underline" href={`/evaluations/runs/${run.baselineRunId}`}>
                {detail.baseline?.imported ? "imported scores" : "previous run"}
              </Link>
            </>
          )}
        </p>
      </div>
      <dl className="grid grid-cols-2 gap-3 text-sm sm:grid-cols-3 lg:grid-cols-6">
        {[
          ["Items", `${run.doneCount}/${run.itemCount}`],
          ["Errors", String(run.errorCount)],
          ["Avg hallucination", run.avgHallucination === null ? "–" : run.avgHallucination.toFixed(2)],
          ["Faithfulness", pct(run.avgFaithfulness)],
          ["Answer relevance", pct(run.avgAnswerRelevance)],
          ["Retrieval hit", pct(run.retrievalHitRate)],
        ].map(([k, v]) => (
          <div key={k}>
            <dt className="text-xs text-zinc-500">{k}</dt>
            <dd className="text-lg font-semibold">{v}</dd>
          </div>
        ))}
      </dl>
      {detail.baseline && (
        <p className="text-sm" data-testid="baseline-figure">
          Baseline{detail.baseline.imported ? " (the old system's scores, imported)" : ""}: average hallucination{" "}
          <strong>{detail.baseline.avgHallucination?.toFixed(2) ?? "–"}</strong>
          {run.avgHallucination !== null && detail.baseline.avgHallucination !== null && (
            <>
              {" "}
              · this run <strong>{run.avgHallucination.toFixed(2)}</strong> ({run.avgHallucination >= detail.baseline.avgHallucination ? "+" : "−"}
              {Math.abs(run.avgHallucination - detail.baseline.avgHallucination).toFixed(2)})
            </>
          )}
        </p>
      )}
      {run.alertStatus === "sent" && <p className="text-sm text-amber-700">An alert was sent for this run.</p>}
      {others.length > 0 && (
        <form className="flex flex-wrap items-center gap-2 text-sm" aria-label="Compare with">
          <label htmlFor="baseline">Compare with</label>
          <select id="baseline" name="baseline" defaultValue={run.baselineRunId ?? ""} className={`${controlClass} w-auto`}>
            {others.map((o) => (
              <option key={o.id} value={o.id}>
                {o.createdAt.toISOString().slice(0, 16).replace("T", " ")} · v{o.datasetVersion} · {o.avgHallucination?.toFixed(2) ?? "–"}
              </option>
            ))}
          </select>
          <Button type="submit" size="sm">
            Compare
          </Button>
        </form>
      )}
      {run.baselineRunId && (
        <p className="text-sm" data-testid="regression-count">
          {detail.regressionCount} regression{detail.regressionCount === 1 ? "" : "s"} against the baseline.
        </p>
      )}
      <Table
        testId="run-items"
        empty="This run has no items."
        columns={[
          { header: "#", sortable: true, align: "right" },
          { header: "Question / answer", className: "min-w-64" },
          { header: "Score", sortable: true },
          { header: "Baseline", sortable: true },
          { header: "Hit" },
          { header: "Latency", sortable: true, align: "right" },
          { header: "Tokens", align: "right" },
        ]}
        rows={items.map((it) => ({
          key: it.id,
          highlight: it.regressions.length > 0,
          attrs: { "data-regression": it.regressions.length > 0 ? "true" : undefined },
          sort: [it.position, null, it.judge?.status === "ok" ? it.judge.hallucinationScore : null, it.baseline?.hallucinationScore, null, it.latencyMs],
          cells: [
            it.position + 1,
            <div key="q" className="min-w-0 break-words">
              <p className="font-medium">{it.question}</p>
              {it.answer && <p className="whitespace-pre-wrap text-zinc-600 dark:text-zinc-400">{it.answer}</p>}
              {it.error && <p className="text-red-700 dark:text-red-400">{it.error}</p>}
              {it.regressions.length > 0 && <p className="text-red-700 dark:text-red-400">Regression: {it.regressions.join("; ")}</p>}
              {it.judge?.status === "ok" && Array.isArray(it.judge.claims) && it.judge.claims.length > 0 && (
                <details>
                  <summary className="cursor-pointer text-xs text-zinc-500">claims and verdicts</summary>
                  <ul className="text-xs">
                    {(it.judge.claims as Array<{ claim: string; verdict?: string; inSources?: boolean; reason: string; passage: number | null; fromReference?: boolean }>).map((c, i) => (
                      <li key={i}>
                        {c.fromReference ? `reference: ${c.inSources ? "in sources" : "not in sources"}` : c.verdict}
                        {c.passage ? ` [${c.passage}]` : ""} — {c.claim} <span className="text-zinc-500">({c.reason})</span>
                      </li>
                    ))}
                  </ul>
                </details>
              )}
              {it.sources.length > 0 && <p className="text-xs text-zinc-500">Sources: {it.sources.map((s) => s.title ?? s.url ?? s.documentId).join(" · ")}</p>}
            </div>,
            <span key="s">
              <ScoreBadge value={it.judge?.status === "ok" ? it.judge.hallucinationScore : null} target={target} />
              {it.judge?.status === "error" && <StatusBadge status="error" label="judge error" />}
              {it.human && <span className="block text-xs text-zinc-500">human {it.human.hallucinationScore}</span>}
            </span>,
            <ScoreBadge key="b" value={it.baseline?.hallucinationScore} target={target} />,
            it.retrievalHit === null ? "–" : it.retrievalHit ? "yes" : "no",
            <span key="l" className="whitespace-nowrap">{it.latencyMs === null ? "–" : `${it.latencyMs} ms`}</span>,
            it.promptTokens === null ? "–" : `${it.promptTokens}+${it.completionTokens ?? 0}`,
          ],
        }))}
      />
    </div>
  );
}
