"use client";
// Budgets: set one (who, tokens or GPU-seconds, per day or month, the limit and the budget-mode threshold),
// restart a window, delete one, and exempt models. Every change goes through the admin API, which audits it.
import { useState } from "react";
import { asPendingApproval, WaitingForApproval } from "@/components/ui/approval-notice";
import { Button } from "@/components/ui/button";
import { ConfirmDialog } from "@/components/ui/confirm-dialog";
import { controlClass, Field } from "@/components/ui/field";
import { FormError } from "@/components/ui/form-error";
import { Card } from "@/components/ui/page-header";
import { StatusBadge } from "@/components/ui/status-badge";
import { Table } from "@/components/ui/table";
import { compactNumber } from "@/components/ui/bar-chart";
import { fetchJson } from "@/lib/http/client-fetch";
import type { PendingApprovalAnswer } from "@/lib/approvals/types";
import type { BudgetScopeKind, BudgetView } from "@/lib/usage/types";
import { usePageAction } from "@/components/ui/use-page-action";

type Choice = { id: string; label: string };

const SCOPE_LABEL: Record<BudgetScopeKind, string> = { global: "everyone", user: "user", api_key: "API key", agent: "agent", schedule: "schedule" };
const METRIC_LABEL = { tokens: "tokens", gpu_seconds: "GPU-seconds" } as const;

export function BudgetsAdmin({
  budgets,
  exemptModels,
  models,
  choices,
  defaultThreshold,
  timeZone,
}: {
  budgets: BudgetView[];
  exemptModels: string[];
  models: string[];
  choices: { users: Choice[]; keys: Choice[]; schedules: Choice[] };
  defaultThreshold: number;
  timeZone: string;
}) {
  const { run, busy, error } = usePageAction();
  const [scopeKind, setScopeKind] = useState<BudgetScopeKind>("user");
  const [confirm, setConfirm] = useState<{ budget: BudgetView; action: "delete" | "restart" } | null>(null);
  // Raising a budget's limit or threshold waits for another admin's approval.
  const [waiting, setWaiting] = useState<PendingApprovalAnswer | null>(null);
  const pick = scopeKind === "user" ? choices.users : scopeKind === "api_key" ? choices.keys : scopeKind === "schedule" ? choices.schedules : null;

  return (
    <div className="space-y-4">
      <Card>
        <h2 className="mb-2 font-medium">Set a budget</h2>
        <form
          aria-label="Set a budget"
          className="flex flex-wrap items-end gap-3"
          onSubmit={(e) => {
            e.preventDefault();
            const f = new FormData(e.currentTarget);
            const threshold = String(f.get("modeThreshold") ?? "").trim();
            void run(async () =>
              setWaiting(asPendingApproval(await fetchJson("/api/admin/budgets", {
                method: "PUT",
                json: {
                  scopeKind,
                  ...(scopeKind === "global" ? {} : { scopeId: String(f.get("scopeId") ?? "") }),
                  metric: f.get("metric"),
                  period: f.get("period"),
                  limit: Number(f.get("limit")),
                  ...(threshold ? { modeThreshold: Number(threshold) / 100 } : {}),
                },
              }))),
            );
          }}
        >
          <Field label="For" className="w-full sm:w-36">
            <select name="scopeKind" value={scopeKind} onChange={(e) => setScopeKind(e.target.value as BudgetScopeKind)} className={controlClass}>
              {(Object.keys(SCOPE_LABEL) as BudgetScopeKind[]).map((k) => (
                <option key={k} value={k}>
                  {SCOPE_LABEL[k]}
                </option>
              ))}
            </select>
          </Field>
          {pick ? (
            <Field label={SCOPE_LABEL[scopeKind]} className="w-full sm:w-56">
              <select name="scopeId" required className={controlClass}>
                {pick.map((c) => (
                  <option key={c.id} value={c.id}>
                    {c.label}
                  </option>
                ))}
              </select>
            </Field>
          ) : scopeKind === "agent" ? (
            <Field label="Agent id" className="w-full sm:w-56">
              <input name="scopeId" required className={controlClass} />
            </Field>
          ) : null}
          <Field label="Metric" className="w-full sm:w-36">
            <select name="metric" className={controlClass}>
              <option value="tokens">tokens</option>
              <option value="gpu_seconds">GPU-seconds</option>
            </select>
          </Field>
          <Field label="Per" className="w-full sm:w-28">
            <select name="period" className={controlClass}>
              <option value="day">day</option>
              <option value="month">month</option>
            </select>
          </Field>
          <Field label="Limit" className="w-full sm:w-36">
            <input name="limit" type="number" min="0.001" step="any" required className={controlClass} />
          </Field>
          <Field label="Budget mode from (%)" hint={`default ${Math.round(defaultThreshold * 100)}%`} className="w-full sm:w-40">
            <input name="modeThreshold" type="number" min="1" max="100" step="1" className={controlClass} />
          </Field>
          <Button type="submit" variant="primary" disabled={busy}>
            Save budget
          </Button>
        </form>
        <p className="mt-2 text-xs text-zinc-500">
          Windows start at midnight ({timeZone}) of the day or the first of the month. A new budget starts with nothing used; changing a limit keeps the
          window and what it used.
        </p>
      </Card>
      <FormError message={error} />
      {waiting && <WaitingForApproval answer={waiting} linkToQueue />}
      <Table
        testId="budgets-table"
        empty="No budgets: model use is recorded but not limited."
        columns={[
          { header: "For", sortable: true },
          { header: "Limit", sortable: true, align: "right" },
          { header: "Used", sortable: true, align: "right" },
          { header: "State", sortable: true },
          { header: "Resets", sortable: true },
          { header: "Actions", srOnly: true },
        ]}
        rows={budgets.map((b) => ({
          key: b.id,
          attrs: { "data-budget": `${b.scopeKind}:${b.scopeLabel}` },
          sort: [`${b.scopeKind} ${b.scopeLabel}`, b.limit, (b.used + b.reserved) / b.limit, b.state, b.windowEnd],
          cells: [
            <span key="for" className="break-words">
              {SCOPE_LABEL[b.scopeKind]} {b.scopeKind === "global" ? "" : b.scopeLabel}
            </span>,
            `${compactNumber(b.limit)} ${METRIC_LABEL[b.metric]} / ${b.period}`,
            `${compactNumber(b.used + b.reserved)} (${Math.round(((b.used + b.reserved) / b.limit) * 100)}%)`,
            <StatusBadge key="state" status={b.state} label={b.state === "budget" ? `budget mode (from ${Math.round(b.modeThreshold * 100)}%)` : b.state} />,
            new Date(b.windowEnd).toISOString().slice(0, 16).replace("T", " "),
            <span key="actions" className="flex gap-2">
              <Button size="sm" disabled={busy} onClick={() => setConfirm({ budget: b, action: "restart" })}>
                Restart window
              </Button>
              <Button size="sm" variant="danger" disabled={busy} onClick={() => setConfirm({ budget: b, action: "delete" })}>
                Delete
              </Button>
            </span>,
          ],
        }))}
      />
      <Card>
        <h2 className="mb-2 font-medium">Models no budget counts</h2>
        <p className="mb-2 text-xs text-zinc-500">Their calls stay in the usage ledger. Local models are counted unless exempted here.</p>
        <ul className="mb-3 flex flex-wrap gap-2" data-testid="exempt-models">
          {exemptModels.length === 0 && <li className="text-sm text-zinc-500">None.</li>}
          {exemptModels.map((m) => (
            <li key={m} className="flex items-center gap-2 rounded border border-zinc-200 px-2 py-1 text-sm break-all dark:border-zinc-700">
              {m}
              <Button size="sm" variant="ghost" disabled={busy} onClick={() => run(() => fetchJson("/api/admin/budgets/exempt-models", { method: "PUT", json: { model: m, exempt: false } }))}>
                Count again
              </Button>
            </li>
          ))}
        </ul>
        <form
          aria-label="Exempt a model"
          className="flex flex-wrap items-end gap-3"
          onSubmit={(e) => {
            e.preventDefault();
            const f = new FormData(e.currentTarget);
            void run(() => fetchJson("/api/admin/budgets/exempt-models", { method: "PUT", json: { model: String(f.get("model") ?? ""), exempt: true } }));
          }}
        >
          <Field label="Model" className="w-full sm:w-72">
            <input name="model" required list="known-models" className={controlClass} />
            <datalist id="known-models">
              {models.map((m) => (
                <option key={m} value={m} />
              ))}
            </datalist>
          </Field>
          <Button type="submit" disabled={busy}>
            Exempt
          </Button>
        </form>
      </Card>
      <ConfirmDialog
        open={!!confirm}
        title={confirm?.action === "delete" ? "Delete this budget?" : "Restart this budget's window?"}
        confirmLabel={confirm?.action === "delete" ? "Delete budget" : "Restart window"}
        danger={confirm?.action === "delete"}
        onCancel={() => setConfirm(null)}
        onConfirm={() => {
          const c = confirm!;
          setConfirm(null);
          void run(() =>
            c.action === "delete"
              ? fetchJson(`/api/admin/budgets/${c.budget.id}`, { method: "DELETE" })
              : fetchJson(`/api/admin/budgets/${c.budget.id}`, { method: "POST", json: { action: "restart" } }),
          );
        }}
      >
        {confirm?.action === "delete"
          ? "Its use is no longer limited. The usage ledger keeps every call."
          : "It starts again now with nothing used; calls already made stay in the usage ledger."}
      </ConfirmDialog>
    </div>
  );
}
