// Run alerts: a Discord or generic webhook gets counts and a link — never questions, answers or wiki text,
// since webhooks leave the LAN.
import { getConfig, type Config } from "../config";

export interface RunSummaryForAlert {
  id: string;
  itemCount: number;
  errorCount: number;
  avgHallucination: number | null;
}

export interface AlertDecision {
  needed: boolean;
  reasons: string[];
  errorRate: number;
}

export function decideAlert(run: RunSummaryForAlert, threshold: number, maxErrorRate: number): AlertDecision {
  const errorRate = run.itemCount > 0 ? run.errorCount / run.itemCount : 0;
  const reasons: string[] = [];
  if (run.avgHallucination !== null && run.avgHallucination < threshold) {
    reasons.push(`average hallucination score ${run.avgHallucination.toFixed(2)} is below ${threshold}`);
  }
  if (run.avgHallucination === null && run.itemCount > 0) reasons.push("no item could be scored");
  if (errorRate > maxErrorRate) {
    reasons.push(`${run.errorCount} of ${run.itemCount} items failed (${(errorRate * 100).toFixed(1)}% > ${(maxErrorRate * 100).toFixed(1)}%)`);
  }
  return { needed: reasons.length > 0, reasons, errorRate };
}

export function runLink(runId: string, config: Pick<Config, "PUBLIC_URL" | "HOST" | "PORT"> = getConfig()): string {
  const base = config.PUBLIC_URL ?? `http://${config.HOST}:${config.PORT}`;
  return `${base.replace(/\/$/, "")}/evaluations/runs/${runId}`;
}

/** The webhook body: only numbers, reasons built from numbers, and the link. */
export function alertPayload(kind: "discord" | "generic", run: RunSummaryForAlert, decision: AlertDecision, link: string) {
  const avg = run.avgHallucination === null ? "n/a" : run.avgHallucination.toFixed(2);
  if (kind === "discord") {
    return {
      content:
        `⚠️ Evaluation run needs attention: ${decision.reasons.join("; ")}.\n` +
        `Average hallucination score ${avg} · ${run.itemCount} items · ${run.errorCount} errors\n${link}`,
      allowed_mentions: { parse: [] },
    };
  }
  return {
    event: "evaluation_run.alert",
    runId: run.id,
    reasons: decision.reasons,
    avgHallucination: run.avgHallucination,
    itemCount: run.itemCount,
    errorCount: run.errorCount,
    errorRate: decision.errorRate,
    url: link,
  };
}

export function webhookKind(url: string, setting: Config["EVAL_ALERT_WEBHOOK_KIND"]): "discord" | "generic" {
  if (setting !== "auto") return setting;
  return /^https:\/\/(?:\w+\.)?discord(?:app)?\.com\/api\/webhooks\//.test(url) ? "discord" : "generic";
}

/** Sends the alert if one is needed and a webhook is configured. Never throws: the outcome is returned. */
export async function sendRunAlert(
  run: RunSummaryForAlert,
  config: Config = getConfig(),
): Promise<{ status: "sent" | "failed" | "not_needed" | "not_configured"; error?: string }> {
  const decision = decideAlert(run, config.EVAL_ALERT_THRESHOLD, config.EVAL_ALERT_MAX_ERROR_RATE);
  if (!decision.needed) return { status: "not_needed" };
  const url = config.EVAL_ALERT_WEBHOOK_URL;
  if (!url) return { status: "not_configured" };
  const body = alertPayload(webhookKind(url, config.EVAL_ALERT_WEBHOOK_KIND), run, decision, runLink(run.id, config));
  try {
    const res = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(10_000),
    });
    if (!res.ok) return { status: "failed", error: `webhook answered HTTP ${res.status}` };
    return { status: "sent" };
  } catch (err) {
    return { status: "failed", error: `webhook unreachable (${(err as Error).message})` };
  }
}
