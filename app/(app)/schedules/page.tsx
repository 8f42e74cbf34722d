import Link from "next/link";
import { requirePageAccess } from "@/app/_server/access";
import { AutoRefresh } from "@/components/ui/auto-refresh";
import { buttonClass } from "@/components/ui/button";
import { PlusIcon } from "@/components/ui/icons";
import { PageHeader } from "@/components/ui/page-header";
import { StatusBadge } from "@/components/ui/status-badge";
import { Table } from "@/components/ui/table";
import { RunAs } from "@/components/schedules/run-as";
import { RunStatus } from "@/components/schedules/run-history";
import { ScheduleActions } from "@/components/schedules/schedule-actions";
import { listSchedules, runAsUsers, type ScheduleView } from "@/lib/schedules";

export const dynamic = "force-dynamic";

const when = (iso: string | null) => (iso ? iso.slice(0, 16).replace("T", " ") + " UTC" : "—");

function ruleText(s: Pick<ScheduleView, "intervalMinutes" | "cron" | "timeZone">): string {
  if (s.intervalMinutes != null) return s.intervalMinutes === 1 ? "every minute" : `every ${s.intervalMinutes} min`;
  return `${s.cron} (${s.timeZone})`;
}

export default async function SchedulesPage() {
  const access = await requirePageAccess("admin");
  const schedules = await listSchedules(access);
  const users = await runAsUsers(access, schedules);
  return (
    <div className="space-y-4">
      <AutoRefresh active={schedules.some((s) => s.running > 0)} />
      <PageHeader
        title="Schedules"
        description="Evaluation runs, Notion reconciles, backups and webhooks that run on their own, by cron or interval."
        actions={
          <Link href="/schedules/new" className={buttonClass("primary")}>
            <PlusIcon size={14} /> New schedule
          </Link>
        }
      />
      <Table
        testId="schedules-table"
        empty="No schedules yet. A schedule runs an evaluation, a Notion reconcile, a backup or a webhook on its own."
        columns={[
          { header: "Name", sortable: true },
          { header: "Target", sortable: true },
          { header: "When" },
          { header: "Runs as" },
          { header: "Enabled", sortable: true },
          { header: "Next run", sortable: true },
          { header: "Last run", sortable: true },
          { header: "Actions", srOnly: true },
        ]}
        rows={schedules.map((s) => ({
          key: s.id,
          attrs: { "data-schedule-id": s.id },
          sort: [s.name, s.target.summary, null, null, s.enabled ? 1 : 0, s.enabled ? s.nextRunAt : null, s.lastRun?.startedAt],
          cells: [
            <Link key="n" className="font-medium underline" href={`/schedules/${s.id}`}>
              {s.name}
            </Link>,
            s.target.summary,
            <span key="w" className="font-mono text-xs whitespace-nowrap">{ruleText(s)}</span>,
            <span key="r" className="text-xs">
              <RunAs user={s.runAsUserId ? users.get(s.runAsUserId) : undefined} />
            </span>,
            <StatusBadge key="e" status={s.enabled ? "enabled" : "disabled"} tone={s.enabled ? "success" : "muted"} label={s.enabled ? "yes" : "no"} />,
            <span key="x" className="whitespace-nowrap">{s.enabled ? when(s.nextRunAt) : "—"}</span>,
            s.lastRun ? (
              <span key="l" className="flex flex-wrap items-center gap-1 whitespace-nowrap">
                {when(s.lastRun.startedAt)} <RunStatus status={s.lastRun.status} />
              </span>
            ) : (
              "—"
            ),
            <ScheduleActions key="a" id={s.id} name={s.name} enabled={s.enabled} />,
          ],
        }))}
      />
    </div>
  );
}
