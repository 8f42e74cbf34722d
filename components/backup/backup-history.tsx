import { formatBytes, type BackupRow } from "./format";

const STATUS_STYLE: Record<BackupRow["status"], string> = {
  queued: "text-zinc-500",
  running: "text-blue-600",
  succeeded: "text-emerald-700 dark:text-emerald-400",
  failed: "text-red-600",
};

function duration(b: BackupRow): string {
  if (!b.startedAt || !b.finishedAt) return "–";
  const s = (Date.parse(b.finishedAt) - Date.parse(b.startedAt)) / 1000;
  return s < 60 ? `${s.toFixed(1)} s` : `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
}

/** Backup history: when, outcome, snapshot, size and what was new. */
export function BackupHistory({ backups }: { backups: BackupRow[] }) {
  if (backups.length === 0) return <p className="text-sm text-zinc-500">No backups yet.</p>;
  return (
    <table className="w-full text-left text-sm" data-testid="backup-history">
      <thead className="text-xs uppercase text-zinc-500">
        <tr>
          <th className="py-1">Started</th>
          <th>Status</th>
          <th>Snapshot</th>
          <th>Rows</th>
          <th>Size</th>
          <th>Uploaded</th>
          <th>Duration</th>
          <th>Trigger</th>
        </tr>
      </thead>
      <tbody>
        {backups.map((b) => (
          <tr key={b.id} className="border-t border-zinc-200 align-top dark:border-zinc-800">
            <td className="py-1 whitespace-nowrap">{b.createdAt.slice(0, 19).replace("T", " ")} UTC</td>
            <td className={STATUS_STYLE[b.status]}>
              {b.status}
              {b.error && <div className="max-w-md text-xs text-red-600">{b.error}</div>}
            </td>
            <td className="font-mono text-xs">{b.snapshotId ?? "–"}</td>
            <td>{b.rowsDone.toLocaleString()}</td>
            <td>{formatBytes(b.bytesTotal)}</td>
            <td>
              {b.objectsUploaded.toLocaleString()} objects ({formatBytes(b.bytesUploaded)})
            </td>
            <td>{duration(b)}</td>
            <td>{b.trigger}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
