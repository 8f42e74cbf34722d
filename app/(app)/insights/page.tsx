import Link from "next/link";
import { requirePageAccess } from "@/app/_server/access";
import { TrendChart } from "@/components/evaluations/trend-chart";
import { BarChart } from "@/components/ui/bar-chart";
import { buttonClass } from "@/components/ui/button";
import { Card, PageHeader } from "@/components/ui/page-header";
import { Table } from "@/components/ui/table";
import { insightFigures } from "@/lib/insights/figures";

export const dynamic = "force-dynamic";
export const metadata = { title: "Insights" };

const RANGES = [1, 7, 30, 90];

function Figure({ label, value, testId }: { label: string; value: string; testId?: string }) {
  return (
    <Card className="space-y-1">
      <p className="text-xs text-zinc-500">{label}</p>
      <p className="text-2xl font-semibold" data-testid={testId}>
        {value}
      </p>
    </Card>
  );
}

/** Where the wiki falls short, over what the caller may read: the digest's figures, with charts. */
export default async function InsightsPage({ searchParams }: { searchParams: Promise<{ days?: string }> }) {
  const access = await requirePageAccess("score");
  const asked = Number((await searchParams).days ?? 7);
  const days = RANGES.includes(asked) ? asked : 7;
  const f = await insightFigures(access, { days });
  const share = f.notCoveredShare === null ? "—" : `${(f.notCoveredShare * 100).toFixed(1)}%`;
  return (
    <div className="space-y-6">
      <PageHeader
        title="Insights"
        description={`The last ${days === 1 ? "24 hours" : `${days} days`}, over the collections you may read: what people ask, what the wiki does not cover, how answers are rated and how evaluations trend.`}
        actions={RANGES.map((d) => (
          <Link key={d} href={`/insights?days=${d}`} aria-current={d === days ? "page" : undefined} className={buttonClass(d === days ? "primary" : "secondary", "sm")}>
            {d === 1 ? "24 h" : `${d} days`}
          </Link>
        ))}
      />
      <div className="grid grid-cols-2 gap-3 md:grid-cols-4">
        <Figure label="Questions asked" value={String(f.questions)} testId="insight-questions" />
        <Figure label='Answered "the wiki does not cover this"' value={`${f.notCovered} (${share})`} testId="insight-not-covered" />
        <Figure label="Thumbs down / up" value={`${f.thumbsDown} / ${f.thumbsUp}`} testId="insight-thumbs" />
        <Figure label="Average hallucination score" value={f.avgHallucination === null ? "—" : f.avgHallucination.toFixed(2)} />
        <Figure label="Imports succeeded / failed" value={`${f.imports.succeeded} / ${f.imports.failed}`} />
        {f.backups && <Figure label="Backups succeeded / failed" value={`${f.backups.succeeded} / ${f.backups.failed}`} />}
        <Figure label="GPU time" value={f.gpuSeconds === null ? "not recorded yet" : `${Math.round(f.gpuSeconds)} s`} />
      </div>
      <div className="grid gap-4 lg:grid-cols-2">
        <BarChart
          title="Questions per day"
          unit="questions"
          testId="insight-questions-chart"
          categories={f.daily.map((d) => d.day)}
          stacks={[
            { key: "covered", label: "answered from the wiki", color: "#2563eb" },
            { key: "notCovered", label: "not covered", color: "#d97706" },
          ]}
          series={f.daily.flatMap((d) => [
            { x: d.day, stack: "covered", value: d.questions - d.notCovered },
            { x: d.day, stack: "notCovered", value: d.notCovered },
          ])}
        />
        <BarChart
          title="Thumbs down per day"
          unit="thumbs down"
          testId="insight-thumbs-chart"
          categories={f.daily.map((d) => d.day)}
          stacks={[{ key: "down", label: "thumbs down", color: "#dc2626" }]}
          series={f.daily.map((d) => ({ x: d.day, stack: "down", value: d.thumbsDown }))}
        />
      </div>
      <TrendChart points={f.runs.filter((r) => r.avgHallucination !== null).map((r) => ({ id: r.id, at: r.at, avg: r.avgHallucination!, dataset: r.dataset }))} target={f.target} />
      <section aria-labelledby="topics-title" className="space-y-2">
        <h2 id="topics-title" className="text-lg font-semibold">
          Most frequent questions the wiki did not cover
        </h2>
        {f.uncoveredTopics === null ? (
          <p className="text-sm text-zinc-500">Question text is not logged on this instance (LOG_QUERY_TEXT=false): only the counts above are kept.</p>
        ) : (
          <>
            <p className="text-sm text-zinc-500">{f.topicsScope === "everyone" ? "Everyone's questions (you are an admin)." : "Your own questions: other people's questions are theirs."}</p>
            <Table
              testId="uncovered-topics"
              empty="No uncovered questions in this period."
              columns={[{ header: "Question" }, { header: "Times", sortable: true, align: "right" }, { header: "Last asked", sortable: true }]}
              rows={f.uncoveredTopics.map((t, i) => ({
                key: String(i),
                sort: [null, t.count, t.lastAt],
                cells: [<span key="q" className="break-words">{t.question}</span>, String(t.count), t.lastAt.slice(0, 16).replace("T", " ")],
              }))}
            />
          </>
        )}
      </section>
    </div>
  );
}
