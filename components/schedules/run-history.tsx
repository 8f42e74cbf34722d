import Link from "next/link";
import type { RunView } from "@/lib/schedules";

const when = (iso: string | null) => (iso ? iso.slice(0, 19).replace("T", " ") + " UTC" : "—");

const STATUS_CLASS: Record<RunView["status"], string> = {
  running: "bg-blue-100 text-blue-900 dark:bg-blue-950 dark:text-blue-200",
  succeeded: "bg-green-100 text-green-900 dark:bg-green-950 dark:text-green-200",
  failed: "bg-red-100 text-red-900 dark:bg-red-950 dark:text-red-200",
};

export function RunStatus({ status }: { status: RunView["status"] }) {
  return <span className={`rounded px-1.5 py-0.5 text-xs font-medium ${STATUS_CLASS[status]}`}>{status}</span>;
}

/** Where a run's result can be looked at. */
function ResultLink({ result }: { result: RunView["result"] }) {
  if (!result) return <>—</>;
  if (result.kind === "evaluation_run") return <Link className="underline" href={`/evaluations/runs/${result.id}`}>evaluation run</Link>;
  if (result.kind === "backup") return <Link className="underline" href="/admin/backups">backup</Link>;
  if (result.kind === "import_job") return <Link className="underline" href="/sources">import job</Link>;
  if (result.kind === "http_response") return <>HTTP {result.id}</>;
  return <>{result.kind}</>;
}

export function RunHistory({ runs }: { runs: RunView[] }) {
  if (runs.length === 0) return <p className="text-sm text-zinc-500">No runs yet.</p>;
  return (
    <table className="w-full text-left text-sm" data-testid="schedule-history">
      <thead className="text-xs uppercase text-zinc-500">
        <tr>
          <th className="py-1">Started</th>
          <th>Trigger</th>
          <th>Status</th>
          <th>Finished</th>
          <th>Result</th>
          <th>Error</th>
        </tr>
      </thead>
      <tbody>
        {runs.map((r) => (
          <tr key={r.id} className="border-t border-zinc-200 align-top dark:border-zinc-800" data-run-id={r.id} data-status={r.status}>
            <td className="py-1 whitespace-nowrap">{when(r.started_at)}</td>
            <td>{r.trigger === "manual" ? "run now" : `due ${when(r.due_at)}`}</td>
            <td>
              <RunStatus status={r.status} />
            </td>
            <td className="whitespace-nowrap">{when(r.finished_at)}</td>
            <td>
              <ResultLink result={r.result} />
            </td>
            <td className="max-w-xs break-words text-red-700 dark:text-red-400">{r.error ?? ""}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
