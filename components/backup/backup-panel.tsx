"use client";
import { useRouter } from "next/navigation";
import { useEffect, useState } from "react";
import { Button } from "@/components/ui/button";
import { FormError } from "@/components/ui/form-error";
import { StatusBadge } from "@/components/ui/status-badge";
import { errorMessage, fetchJson } from "@/lib/http/client-fetch";
import type { BackupView } from "@/lib/backup/types";
import { formatBytes } from "@/lib/units";

/** Start button and live progress of the active backup; refreshes the history when it ends. */
export function BackupPanel({ active }: { active: BackupView | null }) {
  const router = useRouter();
  const [current, setCurrent] = useState<BackupView | null>(active);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const running = current && (current.status === "queued" || current.status === "running");

  useEffect(() => setCurrent(active), [active]);
  useEffect(() => {
    if (!running || !current) return;
    const t = setInterval(async () => {
      const next = await fetchJson<BackupView>(`/api/backups/${current.id}`).catch(() => null);
      if (!next) return;
      setCurrent(next);
      if (next.status === "succeeded" || next.status === "failed") router.refresh();
    }, 1500);
    return () => clearInterval(t);
  }, [running, current, router]);

  async function start() {
    setBusy(true);
    setError(null);
    try {
      setCurrent(await fetchJson<BackupView>("/api/backups", { method: "POST", json: {} }));
      router.refresh();
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      setBusy(false);
    }
  }

  const pct = current && current.rowsTotal > 0 ? Math.min(100, Math.round((current.rowsDone / current.rowsTotal) * 100)) : 0;
  return (
    <section aria-label="Backup now" className="space-y-3 rounded-md border border-zinc-200 p-4 dark:border-zinc-800">
      <div className="flex flex-wrap items-center gap-3">
        <Button variant="primary" onClick={start} disabled={busy || Boolean(running)}>
          {busy ? "Starting…" : running ? "Backup in progress" : "Back up now"}
        </Button>
        <FormError message={error} />
      </div>
      {current && running && (
        <div data-testid="backup-progress" className="space-y-1 text-sm">
          <div className="flex flex-wrap justify-between gap-x-3">
            <span className="inline-flex flex-wrap items-center gap-1">
              <StatusBadge status={current.status} /> {current.status === "queued" ? "" : current.phase} — {current.rowsDone.toLocaleString()} / {current.rowsTotal.toLocaleString()} rows
            </span>
            <span>
              {current.objectsUploaded.toLocaleString()} new objects, {formatBytes(current.bytesUploaded)}
            </span>
          </div>
          <div className="h-2 w-full rounded bg-zinc-200 dark:bg-zinc-800" role="progressbar" aria-valuenow={pct} aria-valuemin={0} aria-valuemax={100}>
            <div className="h-2 rounded bg-emerald-600" style={{ width: `${pct}%` }} />
          </div>
        </div>
      )}
      {current && !running && current.status === "failed" && (
        <p role="status" className="text-sm break-words text-red-700 dark:text-red-400">
          Last backup failed: {current.error}
        </p>
      )}
    </section>
  );
}
