import Link from "next/link";
import { notFound } from "next/navigation";
import { requirePageAccess } from "@/app/_server/access";
import { AutoRefresh } from "@/components/ui/auto-refresh";
import { ScoreBadge } from "@/components/evaluations/score-badge";
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
  return (
    <div className="space-y-6">
      <AutoRefresh active={active} />
      <div>
        <Link href="/evaluations" className="text-sm underline">
          ← Evaluations
        </Link>
        <h1 className="text-2xl font-semibold">
          Run of {run.datasetName} v{run.datasetVersion}
        </h1>
        <p className="text-sm text-zinc-500">
          <span data-testid="run-status">{run.status}</span> · {run.trigger} · judge {run.judgeModel} ({run.promptVersion}) · started{" "}
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
      <dl className="grid grid-cols-2 gap-3 text-sm sm:grid-cols-6">
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
        <form className="flex items-center gap-2 text-sm" aria-label="Compare with">
          <label htmlFor="baseline">Compare with</label>
          <select id="baseline" name="baseline" defaultValue={run.baselineRunId ?? ""} className="rounded-md border border-zinc-300 bg-transparent px-2 py-1 dark:border-zinc-700">
            {others.map((o) => (
              <option key={o.id} value={o.id}>
                {o.createdAt.toISOString().slice(0, 16).replace("T", " ")} · v{o.datasetVersion} · {o.avgHallucination?.toFixed(2) ?? "–"}
              </option>
            ))}
          </select>
          <button type="submit" className="rounded-md border border-zinc-300 px-2 py-1 dark:border-zinc-700">
            Compare
          </button>
        </form>
      )}
      {run.baselineRunId && (
        <p className="text-sm" data-testid="regression-count">
          {detail.regressionCount} regression{detail.regressionCount === 1 ? "" : "s"} against the baseline.
        </p>
      )}
      <table className="w-full text-left text-sm" data-testid="run-items">
        <thead className="text-xs uppercase text-zinc-500">
          <tr>
            <th className="py-1">#</th>
            <th>Question / answer</th>
            <th>Score</th>
            <th>Baseline</th>
            <th>Hit</th>
            <th>Latency</th>
            <th>Tokens</th>
          </tr>
        </thead>
        <tbody>
          {items.map((it) => (
            <tr
              key={it.id}
              data-regression={it.regressions.length > 0 ? "true" : undefined}
              className={`border-t border-zinc-200 align-top dark:border-zinc-800 ${it.regressions.length > 0 ? "bg-red-50 dark:bg-red-950/30" : ""}`}
            >
              <td className="py-1 pr-2">{it.position + 1}</td>
              <td className="pr-2">
                <p className="font-medium">{it.question}</p>
                {it.answer && <p className="whitespace-pre-wrap text-zinc-600 dark:text-zinc-400">{it.answer}</p>}
                {it.error && <p className="text-red-600">{it.error}</p>}
                {it.regressions.length > 0 && <p className="text-red-700">Regression: {it.regressions.join("; ")}</p>}
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
                {it.sources.length > 0 && (
                  <p className="text-xs text-zinc-500">
                    Sources: {it.sources.map((s) => s.title ?? s.url ?? s.documentId).join(" · ")}
                  </p>
                )}
              </td>
              <td>
                <ScoreBadge value={it.judge?.status === "ok" ? it.judge.hallucinationScore : null} />
                {it.judge?.status === "error" && <span className="text-xs text-red-600"> judge error</span>}
                {it.human && <span className="block text-xs text-zinc-500">human {it.human.hallucinationScore}</span>}
              </td>
              <td>
                <ScoreBadge value={it.baseline?.hallucinationScore} />
              </td>
              <td>{it.retrievalHit === null ? "–" : it.retrievalHit ? "yes" : "no"}</td>
              <td>{it.latencyMs === null ? "–" : `${it.latencyMs} ms`}</td>
              <td>{it.promptTokens === null ? "–" : `${it.promptTokens}+${it.completionTokens ?? 0}`}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
