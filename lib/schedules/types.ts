// What the schedules API and pages show, defined once. Components import these with `import type`.

/** One run of a schedule (its history). */
export interface RunView {
  id: string;
  scheduleId: string;
  trigger: "schedule" | "manual";
  status: "running" | "succeeded" | "failed" | "stopped";
  dueAt: string | null;
  startedAt: string;
  finishedAt: string | null;
  error: string | null;
  /** What the run produced (an evaluation run, an import job, a backup, an HTTP status). */
  result: { kind: string; id: string } | null;
  /** Stopped at a limit in work that can go on (an evaluation run, an import): POST …/runs/{id}/resume. */
  resumable: boolean;
}

export interface ScheduleView {
  id: string;
  name: string;
  enabled: boolean;
  target: { kind: string; label: string; config: Record<string, unknown>; summary: string };
  intervalMinutes: number | null;
  cron: string | null;
  timeZone: string;
  maxConcurrent: number;
  timeoutMinutes: number;
  /** The user whose access its runs have; null when that user was deleted (its runs then fail). */
  runAsUserId: string | null;
  /**
   * Circuit breakers for the work each run starts (the evaluation run or import takes them) and for the
   * run's own work: null keeps the RUN_MAX_* setting, 0 means no limit. Reaching one ends the run as
   * "stopped: limit reached (…)", resumable.
   */
  limits: { maxModelCalls: number | null; maxRetries: number | null; maxRuntimeSeconds: number | null };
  nextRunAt: string | null;
  lastRunAt: string | null;
  running: number;
  lastRun: RunView | null;
  createdAt: string;
  updatedAt: string;
}

/** What the schedule form offers: target kinds, the things they can point at, and the users to run as. */
export interface TargetChoices {
  kinds: Array<{ kind: string; label: string }>;
  /** Users a schedule can run as (active ones), with their role. */
  users: Array<{ id: string; email: string; role: string }>;
  datasets: Array<{ id: string; name: string }>;
  /** Sources a reconcile can re-sync (Notion and S3). */
  notionSources: Array<{ id: string; name: string }>;
  timeZones: string[];
}
