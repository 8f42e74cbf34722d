import Link from "next/link";
import { notFound } from "next/navigation";
import { requirePageAccess } from "@/app/_server/access";
import { AutoRefresh } from "@/components/ui/auto-refresh";
import { RunAs } from "@/components/schedules/run-as";
import { RunHistory } from "@/components/schedules/run-history";
import { ScheduleActions } from "@/components/schedules/schedule-actions";
import { ScheduleForm } from "@/components/schedules/schedule-form";
import { NotFoundError } from "@/lib/errors";
import { getSchedule, getScheduleHistory, runAsUsers, targetChoices } from "@/lib/schedules";

export const dynamic = "force-dynamic";

/** A schedule's run limits in words: null keeps the setting (RUN_MAX_*), 0 is no limit. */
function runLimitsText(l: { maxModelCalls: number | null; maxRetries: number | null; maxRuntimeSeconds: number | null }): string {
  const one = (v: number | null, unit: string) => (v === null ? `${unit}: default` : v === 0 ? `${unit}: no limit` : `${unit}: ${v}`);
  return [one(l.maxModelCalls, "model calls"), one(l.maxRetries, "retries"), one(l.maxRuntimeSeconds, "runtime (s)")].join(", ");
}

const when = (iso: string | null) => (iso ? iso.slice(0, 19).replace("T", " ") + " UTC" : "—");

export default async function SchedulePage({ params }: { params: Promise<{ id: string }> }) {
  const access = await requirePageAccess("admin");
  const { id } = await params;
  const schedule = await getSchedule(access, id).catch((err) => {
    if (err instanceof NotFoundError) notFound();
    throw err;
  });
  const [runs, choices, users] = await Promise.all([getScheduleHistory(access, id, { limit: 100 }), targetChoices(access), runAsUsers(access, [schedule])]);
  const rule = schedule.intervalMinutes != null ? `every ${schedule.intervalMinutes} min` : `${schedule.cron} (${schedule.timeZone})`;
  return (
    <div className="space-y-6">
      <AutoRefresh active={runs.some((r) => r.status === "running")} />
      <Link href="/schedules" className="text-sm underline">
        ← Schedules
      </Link>
      <div className="space-y-2">
        <h1 className="text-2xl font-semibold break-words">{schedule.name}</h1>
        <dl className="grid grid-cols-[max-content_minmax(0,1fr)] gap-x-4 gap-y-1 text-sm break-words">
          <dt className="text-zinc-500">Target</dt>
          <dd>{schedule.target.summary}</dd>
          <dt className="text-zinc-500">Runs as</dt>
          <dd data-testid="schedule-run-as">
            <RunAs user={schedule.runAsUserId ? users.get(schedule.runAsUserId) : undefined} />
          </dd>
          <dt className="text-zinc-500">When</dt>
          <dd className="font-mono text-xs">{rule}</dd>
          <dt className="text-zinc-500">Enabled</dt>
          <dd data-testid="schedule-enabled">{schedule.enabled ? "yes" : "no"}</dd>
          <dt className="text-zinc-500">Next run</dt>
          <dd>{schedule.enabled ? when(schedule.nextRunAt) : "— (disabled)"}</dd>
          <dt className="text-zinc-500">Last run</dt>
          <dd>{when(schedule.lastRunAt)}</dd>
          <dt className="text-zinc-500">Limits</dt>
          <dd>
            {schedule.maxConcurrent} at once, timeout {schedule.timeoutMinutes} min
          </dd>
          <dt className="text-zinc-500">Circuit breakers</dt>
          <dd data-testid="schedule-run-limits">{runLimitsText(schedule.limits)}</dd>
        </dl>
        <ScheduleActions id={schedule.id} name={schedule.name} enabled={schedule.enabled} showDelete />
      </div>
      <section aria-labelledby="history-title" className="space-y-2">
        <h2 id="history-title" className="text-lg font-semibold">
          History
        </h2>
        <RunHistory runs={runs} />
      </section>
      <details className="min-w-0 rounded-md border border-zinc-200 p-3 dark:border-zinc-800">
        <summary className="cursor-pointer text-sm font-medium">Edit</summary>
        <div className="mt-3">
          <ScheduleForm choices={choices} schedule={schedule} defaultRunAs={access.onBehalfOf} />
        </div>
      </details>
    </div>
  );
}
