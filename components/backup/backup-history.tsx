"use client";
import { StatusBadge } from "@/components/ui/status-badge";
import { Table } from "@/components/ui/table";
import type { BackupView } from "@/lib/backup/types";
import { formatBytes } from "@/lib/units";

function duration(b: BackupView): string {
  if (!b.startedAt || !b.finishedAt) return "–";
  const s = (Date.parse(b.finishedAt) - Date.parse(b.startedAt)) / 1000;
  return s < 60 ? `${s.toFixed(1)} s` : `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
}

/** Backup history: when, outcome, snapshot, size and what was new. */
export function BackupHistory({ backups }: { backups: BackupView[] }) {
  return (
    <Table
      testId="backup-history"
      empty="No backups yet."
      columns={[
        { header: "Started", sortable: true },
        { header: "Status", sortable: true },
        { header: "Snapshot" },
        { header: "Rows", sortable: true, align: "right" },
        { header: "Size", sortable: true, align: "right" },
        { header: "Uploaded" },
        { header: "Duration" },
        { header: "Trigger", sortable: true },
      ]}
      rows={backups.map((b) => ({
        key: b.id,
        sort: [b.createdAt, b.status, null, b.rowsDone, b.bytesTotal, null, null, b.trigger],
        cells: [
          <span key="t" className="whitespace-nowrap">{b.createdAt.slice(0, 19).replace("T", " ")} UTC</span>,
          <span key="s">
            <StatusBadge status={b.status} />
            {b.error && <span className="mt-1 block max-w-md text-xs break-words text-red-700 dark:text-red-400">{b.error}</span>}
          </span>,
          <code key="i" className="font-mono text-xs">{b.snapshotId ?? "–"}</code>,
          b.rowsDone.toLocaleString(),
          formatBytes(b.bytesTotal),
          `${b.objectsUploaded.toLocaleString()} objects (${formatBytes(b.bytesUploaded)})`,
          duration(b),
          b.trigger,
        ],
      }))}
    />
  );
}
