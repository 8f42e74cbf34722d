// What SOT tells people about: the events and how each reads. Notifications leave the LAN (Discord, a
// webhook, e-mail), so an event holds only ids, counts, statuses, model names and times — never
// questions, answers, wiki text, dataset or collection names. Every event passes `eventSchema` (strict
// objects, numbers, enums, UUIDs) before it is stored or sent: a field that could carry text is refused.
import { z } from "zod";
import { getConfig, type Config } from "../config";

const id = z.string().uuid();
const count = z.number().int().min(0);
const score = z.number().min(0).max(5).nullable();
const iso = z.string().datetime({ offset: true });
/** Model and budget names: identifiers, not prose. */
const ident = z.string().regex(/^[\w.:/@+-]{1,120}$/, "must be an identifier (letters, digits, . : / @ + - _)");

export const eventSchema = z.discriminatedUnion("kind", [
  z
    .object({
      kind: z.literal("evaluation_run.finished"),
      runId: id,
      status: z.enum(["completed", "failed"]),
      itemCount: count,
      errorCount: count,
      avgHallucination: score,
      /** EVAL_ALERT_THRESHOLD when it finished. */
      target: z.number().min(0).max(5),
      belowTarget: z.boolean(),
    })
    .strict(),
  z.object({ kind: z.literal("backup.failed"), backupId: id, trigger: z.enum(["manual", "schedule", "cli"]) }).strict(),
  z
    .object({ kind: z.literal("import.failed"), importJobId: id, sourceId: id, done: count, failed: count, trigger: z.enum(["manual", "schedule", "webhook", "seed"]) })
    .strict(),
  z
    .object({
      kind: z.literal("approval.requested"),
      approvalId: id,
      action: ident,
      quorum: count,
      expiresAt: iso,
    })
    .strict(),
  z
    .object({
      kind: z.literal("approval.decided"),
      approvalId: id,
      action: ident,
      status: z.enum(["approved", "rejected", "expired", "executed", "failed"]),
    })
    .strict(),
  z.object({ kind: z.literal("breaker.opened"), model: ident, failures: count, retryAt: iso }).strict(),
  z
    .object({
      kind: z.literal("budget.mode"),
      /** The budget's id or name (the ledger's identifier). */
      budget: ident,
      state: z.enum(["entered", "exhausted"]),
      used: z.number().min(0),
      limit: z.number().min(0),
      unit: z.enum(["tokens", "gpu_seconds"]),
    })
    .strict(),
  z
    .object({
      kind: z.literal("digest"),
      period: z.enum(["daily", "weekly"]),
      from: iso,
      to: iso,
      questions: count,
      notCovered: count,
      thumbsDown: count,
      runs: count,
      avgHallucination: score,
      importsSucceeded: count,
      importsFailed: count,
      backupsSucceeded: count.nullable(),
      backupsFailed: count.nullable(),
      /** Null until the usage ledger records GPU time (lib/insights/figures.ts gpuSecondsUsed). */
      gpuSeconds: z.number().min(0).nullable(),
    })
    .strict(),
]);

export type NotificationEvent = z.infer<typeof eventSchema>;
export type EventKind = NotificationEvent["kind"];

export const EVENT_KINDS: ReadonlyArray<{ kind: EventKind; label: string }> = [
  { kind: "evaluation_run.finished", label: "Evaluation run finished (and whether it is below target)" },
  { kind: "backup.failed", label: "Backup failed" },
  { kind: "import.failed", label: "Import failed" },
  { kind: "approval.requested", label: "Approval requested" },
  { kind: "approval.decided", label: "Approval decided, expired or run" },
  { kind: "breaker.opened", label: "A model's circuit breaker opened" },
  { kind: "budget.mode", label: "Budget mode entered or budget exhausted" },
  { kind: "digest", label: "Daily or weekly digest" },
];

/** What every channel renders: a title, a few lines of figures, and a link into SOT. */
export interface RenderedEvent {
  kind: EventKind;
  title: string;
  lines: string[];
  link: string;
  /** The event's own fields, for the generic webhook's JSON. */
  fields: Record<string, unknown>;
}

function baseUrl(config: Pick<Config, "PUBLIC_URL" | "HOST" | "PORT">): string {
  return (config.PUBLIC_URL ?? `http://${config.HOST}:${config.PORT}`).replace(/\/$/, "");
}

const fmt = (n: number | null, digits = 2) => (n === null ? "n/a" : n.toFixed(digits));
const pct = (part: number, whole: number) => (whole > 0 ? `${((part / whole) * 100).toFixed(1)}%` : "n/a");

export function renderEvent(event: NotificationEvent, config: Pick<Config, "PUBLIC_URL" | "HOST" | "PORT"> = getConfig()): RenderedEvent {
  const base = baseUrl(config);
  const { kind, ...fields } = event;
  const out = (title: string, lines: string[], path: string): RenderedEvent => ({ kind, title, lines, link: base + path, fields });
  switch (event.kind) {
    case "evaluation_run.finished":
      return out(
        event.status === "failed" ? "Evaluation run failed" : event.belowTarget ? "Evaluation run below target" : "Evaluation run finished",
        [
          `Average hallucination score ${fmt(event.avgHallucination)} (target ${fmt(event.target, 1)})`,
          `${event.itemCount} items, ${event.errorCount} errors`,
        ],
        `/evaluations/runs/${event.runId}`,
      );
    case "backup.failed":
      return out("Backup failed", [`A ${event.trigger} backup failed; see the backup page for the reason.`], "/admin/backups");
    case "import.failed":
      return out("Import failed", [`A ${event.trigger} import failed after ${event.done} pages (${event.failed} failed).`], "/sources");
    case "approval.requested":
      return out(
        "Approval requested",
        [`Action ${event.action} waits for ${event.quorum} approval${event.quorum === 1 ? "" : "s"} until ${event.expiresAt}.`],
        `/admin/approvals?id=${event.approvalId}`,
      );
    case "approval.decided":
      return out(`Approval ${event.status}`, [`Action ${event.action}: ${event.status}.`], `/admin/approvals?id=${event.approvalId}`);
    case "breaker.opened":
      return out("Model paused", [`${event.model} failed ${event.failures} times in a row; it is tried again at ${event.retryAt}.`], "/admin");
    case "budget.mode":
      return out(
        event.state === "exhausted" ? "Budget exhausted" : "Budget mode entered",
        [`Budget ${event.budget}: ${fmt(event.used, 0)} of ${fmt(event.limit, 0)} ${event.unit === "tokens" ? "tokens" : "GPU-seconds"} used.`],
        "/admin",
      );
    case "digest":
      return out(
        `SOT ${event.period} digest`,
        [
          `${event.questions} questions, ${event.notCovered} not covered by the wiki (${pct(event.notCovered, event.questions)}), ${event.thumbsDown} thumbs down`,
          `${event.runs} evaluation runs, average hallucination score ${fmt(event.avgHallucination)}`,
          `Imports: ${event.importsSucceeded} succeeded, ${event.importsFailed} failed`,
          ...(event.backupsSucceeded === null ? [] : [`Backups: ${event.backupsSucceeded} succeeded, ${event.backupsFailed ?? 0} failed`]),
          ...(event.gpuSeconds === null ? [] : [`GPU time: ${fmt(event.gpuSeconds, 0)} s`]),
        ],
        `/insights?days=${event.period === "weekly" ? 7 : 1}`,
      );
  }
}
