// The usage ledger's totals for admins: by day and model (the charts), by principal (who used the GPU),
// and overall, over the last N days in the budget time zone.
import { requireAdmin, type AccessContext } from "../access/context";
import { getConfig } from "../config";
import { usageByDay, usageByPrincipal, usageTotals } from "./queries";
import type { UsageSummary } from "./types";

export async function usageSummary(ctx: AccessContext, opts: { days?: number } = {}): Promise<UsageSummary> {
  requireAdmin(ctx);
  const days = opts.days ?? 30;
  const tz = getConfig().BUDGET_TIME_ZONE;
  const [byDay, byPrincipal, [totals]] = await Promise.all([
    usageByDay(ctx.db.sql, days, tz),
    usageByPrincipal(ctx.db.sql, days, tz),
    usageTotals(ctx.db.sql, days, tz),
  ]);
  const to = new Date();
  const from = new Date(to.getTime() - (days - 1) * 86_400_000);
  return {
    from: from.toISOString().slice(0, 10),
    to: to.toISOString().slice(0, 10),
    days: byDay.map((d) => ({ day: d.day, model: d.model, calls: d.calls, promptTokens: Number(d.prompt), completionTokens: Number(d.completion), gpuSeconds: Number(d.gpu) })),
    principals: byPrincipal.map((p) => {
      const kind = p.principal_kind as "user" | "api_key" | "system";
      const key = kind === "api_key" ? `api_key:${p.api_key_id}` : kind === "user" ? `user:${p.user_id}` : `system:${p.label ?? "system"}`;
      const label =
        kind === "api_key"
          ? `key ${p.key_name ?? p.api_key_id}${p.user_email ? ` (${p.user_email})` : ""}`
          : kind === "user"
            ? (p.user_email ?? p.user_id ?? "unknown user")
            : (p.label ?? "system");
      return {
        key,
        kind,
        label,
        calls: p.calls,
        tokens: Number(p.tokens),
        gpuSeconds: Number(p.gpu),
        evaluationCalls: p.evaluation_calls,
        importCalls: p.import_calls,
        scheduleCalls: p.schedule_calls,
      };
    }),
    totals: {
      calls: totals?.calls ?? 0,
      promptTokens: Number(totals?.prompt ?? 0),
      completionTokens: Number(totals?.completion ?? 0),
      gpuSeconds: Number(totals?.gpu ?? 0),
      loadSeconds: Number(totals?.load ?? 0),
    },
  };
}
