import Link from "next/link";
import { StatusBadge } from "@/components/ui/status-badge";
import { Table } from "@/components/ui/table";
import type { RunView } from "@/lib/schedules/types";
import { ResumeRunButton } from "./resume-run";

const when = (iso: string | null) => (iso ? iso.slice(0, 19).replace("T", " ") + " UTC" : "—");

export function RunStatus({ status }: { status: RunView["status"] }) {
  return <StatusBadge status={status} />;
}

/** Where a run's result can be looked at. */
function ResultLink({ result }: { result: RunView["result"] }) {
  if (!result) return <>—</>;
  if (result.kind === "evaluation_run") return <Link className="underline" href={`/evaluations/runs/${result.id}`}>evaluation run</Link>;
  if (result.kind === "backup") return <Link className="underline" href="/admin/backups">backup</Link>;
  if (result.kind === "import_job") return <Link className="underline" href="/sources">import job</Link>;
  if (result.kind === "http_response") return <>HTTP {result.id}</>;
  if (result.kind === "notification_deliveries") return <Link className="underline" href="/admin/notifications">{result.id} notifications</Link>;
  return <>{result.kind}</>;
}

export function RunHistory({ runs }: { runs: RunView[] }) {
  return (
    <Table
      testId="schedule-history"
      empty="No runs yet."
      columns={[{ header: "Started", sortable: true }, { header: "Trigger" }, { header: "Status", sortable: true }, { header: "Finished", sortable: true }, { header: "Result" }, { header: "Error" }]}
      rows={runs.map((r) => ({
        key: r.id,
        attrs: { "data-run-id": r.id, "data-status": r.status },
        sort: [r.startedAt, null, r.status, r.finishedAt],
        cells: [
          <span key="s" className="whitespace-nowrap">{when(r.startedAt)}</span>,
          r.trigger === "manual" ? "run now" : `due ${when(r.dueAt)}`,
          <RunStatus key="t" status={r.status} />,
          <span key="f" className="whitespace-nowrap">{when(r.finishedAt)}</span>,
          <ResultLink key="r" result={r.result} />,
          <span key="e" className="block max-w-xs space-y-1 break-words text-red-700 dark:text-red-400">
            <span className="block">{r.error ?? ""}</span>
            {r.resumable && <ResumeRunButton scheduleId={r.scheduleId} runId={r.id} />}
          </span>,
        ],
      }))}
    />
  );
}
