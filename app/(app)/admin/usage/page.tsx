import Link from "next/link";
import { requirePageAccess } from "@/app/_server/access";
import { BudgetsAdmin } from "@/components/admin/budgets-admin";
import { BarChart, compactNumber } from "@/components/ui/bar-chart";
import { Card, PageHeader } from "@/components/ui/page-header";
import { Table } from "@/components/ui/table";
import { getConfig } from "@/lib/config";
import { budgetScopeChoices, listBudgets } from "@/lib/usage/budgets";
import { usageSummary } from "@/lib/usage/ledger";

export const dynamic = "force-dynamic";
export const metadata = { title: "Usage and budgets" };

const PERIODS = [7, 30, 90];

export default async function UsagePage({ searchParams }: { searchParams: Promise<{ days?: string }> }) {
  const access = await requirePageAccess("admin");
  const asked = Number((await searchParams).days);
  const days = PERIODS.includes(asked) ? asked : 30;
  const [summary, budgets, choices] = await Promise.all([usageSummary(access, { days }), listBudgets(access), budgetScopeChoices(access)]);
  const config = getConfig();
  const models = [...new Set([config.OLLAMA_CHAT_MODEL, config.OLLAMA_FALLBACK_MODEL, config.OLLAMA_JUDGE_MODEL, config.OLLAMA_EMBED_MODEL, ...summary.days.map((d) => d.model)])].filter(Boolean);
  const t = summary.totals;
  return (
    <div className="space-y-4">
      <PageHeader
        title="Usage and budgets"
        description="Every model call, on whose behalf, in tokens and GPU-seconds (Ollama's own prompt and generation time, model loading apart)."
        actions={PERIODS.map((p) => (
          <Link key={p} href={`/admin/usage?days=${p}`} aria-current={p === days ? "page" : undefined} className={`rounded px-2 py-1 text-sm ${p === days ? "bg-zinc-200 dark:bg-zinc-800" : "text-zinc-500"}`}>
            {p} days
          </Link>
        ))}
      />
      <div className="grid gap-3 sm:grid-cols-4" data-testid="usage-totals">
        {[
          ["Model calls", compactNumber(t.calls)],
          ["Tokens", compactNumber(t.promptTokens + t.completionTokens)],
          ["GPU-seconds", compactNumber(t.gpuSeconds)],
          ["Model loading (s)", compactNumber(t.loadSeconds)],
        ].map(([label, value]) => (
          <Card key={label}>
            <p className="text-xs text-zinc-500">{label}</p>
            <p className="text-xl font-semibold">{value}</p>
          </Card>
        ))}
      </div>
      <div className="grid gap-3 lg:grid-cols-2">
        <BarChart title="GPU-seconds per day, by model" unit="GPU-s" testId="gpu-chart" series={summary.days.map((d) => ({ x: d.day, stack: d.model, value: d.gpuSeconds }))} />
        <BarChart title="Tokens per day, by model" unit="tokens" testId="tokens-chart" series={summary.days.map((d) => ({ x: d.day, stack: d.model, value: d.promptTokens + d.completionTokens }))} />
      </div>
      <h2 className="text-lg font-medium">By principal</h2>
      <Table
        testId="usage-principals"
        empty="No model calls in this period."
        initialSort={{ column: 3, direction: "desc" }}
        columns={[
          { header: "Who", sortable: true },
          { header: "Calls", sortable: true, align: "right" },
          { header: "Tokens", sortable: true, align: "right" },
          { header: "GPU-seconds", sortable: true, align: "right" },
          { header: "Of which runs / imports / schedules", align: "right" },
        ]}
        rows={summary.principals.map((p) => ({
          key: p.key,
          sort: [p.label, p.calls, p.tokens, p.gpuSeconds],
          cells: [
            <span key="who" className="break-all">{p.label}</span>,
            compactNumber(p.calls),
            compactNumber(p.tokens),
            compactNumber(p.gpuSeconds),
            `${p.evaluationCalls} / ${p.importCalls} / ${p.scheduleCalls}`,
          ],
        }))}
      />
      <h2 className="text-lg font-medium">Budgets</h2>
      <BudgetsAdmin
        budgets={budgets.budgets}
        exemptModels={budgets.exemptModels}
        models={models}
        choices={choices}
        defaultThreshold={budgets.defaultThreshold}
        timeZone={budgets.timeZone}
      />
    </div>
  );
}
