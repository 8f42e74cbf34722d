// One status → colour map for every kind of run the app shows: backups, imports, evaluation runs,
// schedule runs and queue jobs (and the states of keys and users), so "failed" looks the same everywhere.

export type StatusTone = "neutral" | "info" | "success" | "warning" | "danger" | "muted";

const TONE_OF: Record<string, StatusTone> = {
  // waiting
  queued: "neutral",
  pending: "neutral",
  created: "neutral",
  retry: "warning",
  waiting_for_approval: "warning",
  // working
  running: "info",
  executing: "info",
  approved: "info",
  active: "info",
  importing: "info",
  // finished well
  succeeded: "success",
  completed: "success",
  done: "success",
  ok: "success",
  executed: "success",
  sent: "success",
  // finished badly
  failed: "danger",
  error: "danger",
  rejected: "danger",
  // stopped or no longer valid
  cancelled: "muted",
  canceled: "muted",
  aborted: "muted",
  skipped: "muted",
  revoked: "muted",
  expired: "muted",
  disabled: "muted",
  // partly, or waiting for someone: a run stopped at its limit waits to be resumed
  stopped: "warning",
  partial: "warning",
  degraded: "warning",
  no_model: "warning",
  // budgets (lib/usage): normal, in budget mode, used up
  normal: "success",
  budget: "warning",
  exhausted: "danger",
};

const TONE_CLASS: Record<StatusTone, string> = {
  neutral: "bg-zinc-100 text-zinc-700 ring-zinc-300 dark:bg-zinc-800 dark:text-zinc-200 dark:ring-zinc-600",
  info: "bg-sky-50 text-sky-800 ring-sky-300 dark:bg-sky-950 dark:text-sky-200 dark:ring-sky-800",
  success: "bg-emerald-50 text-emerald-800 ring-emerald-300 dark:bg-emerald-950 dark:text-emerald-200 dark:ring-emerald-800",
  warning: "bg-amber-50 text-amber-900 ring-amber-300 dark:bg-amber-950 dark:text-amber-200 dark:ring-amber-800",
  danger: "bg-red-50 text-red-800 ring-red-300 dark:bg-red-950 dark:text-red-200 dark:ring-red-800",
  muted: "bg-zinc-50 text-zinc-500 ring-zinc-200 dark:bg-zinc-900 dark:text-zinc-400 dark:ring-zinc-700",
};

export function statusTone(status: string): StatusTone {
  return TONE_OF[status.toLowerCase()] ?? "neutral";
}

/** A status word in its colour. `tone` overrides the map where a word means something else (a key's "active" is good news). */
export function StatusBadge({ status, tone, label, testId }: { status: string; tone?: StatusTone; label?: string; testId?: string }) {
  const t = tone ?? statusTone(status);
  return (
    <span
      data-testid={testId}
      data-status={status}
      data-tone={t}
      className={`inline-flex items-center rounded px-1.5 py-0.5 text-xs font-medium whitespace-nowrap ring-1 ring-inset ${TONE_CLASS[t]}`}
    >
      {label ?? status.replace(/_/g, " ")}
    </span>
  );
}

/** The same colours for a value judged against a target (scores). */
export function toneClass(tone: StatusTone): string {
  return TONE_CLASS[tone];
}
