import Link from "next/link";
import { requirePageAccess } from "@/app/_server/access";
import { AutoRefresh } from "@/components/ui/auto-refresh";
import { RunAs } from "@/components/schedules/run-as";
import { RunStatus } from "@/components/schedules/run-history";
import { ScheduleActions } from "@/components/schedules/schedule-actions";
import { listSchedules, runAsUsers, type ScheduleView } from "@/lib/schedules";

export const dynamic = "force-dynamic";

const when = (iso: string | null) => (iso ? iso.slice(0, 16).replace("T", " ") + " UTC" : "—");

function ruleText(s: Pick<ScheduleView, "interval_minutes" | "cron" | "time_zone">): string {
  if (s.interval_minutes != null) return s.interval_minutes === 1 ? "every minute" : `every ${s.interval_minutes} min`;
  return `${s.cron} (${s.time_zone})`;
}

export default async function SchedulesPage() {
  const access = await requirePageAccess("admin");
  const schedules = await listSchedules(access);
  const users = await runAsUsers(access, schedules);
  return (
    <div className="space-y-4">
      <AutoRefresh active={schedules.some((s) => s.running > 0)} />
      <div className="flex flex-wrap items-center justify-between gap-2">
        <h1 className="text-2xl font-semibold">Schedules</h1>
        <Link href="/schedules/new" className="rounded-md bg-zinc-900 px-3 py-1.5 text-sm font-medium text-white dark:bg-zinc-100 dark:text-zinc-900">
          New schedule
        </Link>
      </div>
      {schedules.length === 0 ? (
        <p className="text-sm text-zinc-500">No schedules yet. A schedule runs an evaluation, a Notion reconcile, a backup or a webhook on its own.</p>
      ) : (
        <table className="w-full text-left text-sm" data-testid="schedules-table">
          <thead className="text-xs uppercase text-zinc-500">
            <tr>
              <th className="py-1">Name</th>
              <th>Target</th>
              <th>When</th>
              <th>Runs as</th>
              <th>Enabled</th>
              <th>Next run</th>
              <th>Last run</th>
              <th></th>
            </tr>
          </thead>
          <tbody>
            {schedules.map((s) => (
              <tr key={s.id} className="border-t border-zinc-200 align-top dark:border-zinc-800" data-schedule-id={s.id}>
                <td className="py-1.5">
                  <Link className="font-medium underline" href={`/schedules/${s.id}`}>
                    {s.name}
                  </Link>
                </td>
                <td>{s.target.summary}</td>
                <td className="font-mono text-xs">{ruleText(s)}</td>
                <td className="text-xs">
                  <RunAs user={s.run_as_user_id ? users.get(s.run_as_user_id) : undefined} />
                </td>
                <td>{s.enabled ? "yes" : "no"}</td>
                <td className="whitespace-nowrap">{s.enabled ? when(s.next_run_at) : "—"}</td>
                <td className="whitespace-nowrap">
                  {s.last_run ? (
                    <span className="flex items-center gap-1">
                      {when(s.last_run.started_at)} <RunStatus status={s.last_run.status} />
                    </span>
                  ) : (
                    "—"
                  )}
                </td>
                <td>
                  <ScheduleActions id={s.id} name={s.name} enabled={s.enabled} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}
