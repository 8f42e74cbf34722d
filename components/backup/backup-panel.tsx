"use client";
import { useRouter } from "next/navigation";
import { useEffect, useState } from "react";
import { formatBytes, type BackupRow } from "./format";

/** Start button and live progress of the active backup; refreshes the history when it ends. */
export function BackupPanel({ active }: { active: BackupRow | null }) {
  const router = useRouter();
  const [current, setCurrent] = useState<BackupRow | null>(active);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const running = current && (current.status === "queued" || current.status === "running");

  useEffect(() => setCurrent(active), [active]);
  useEffect(() => {
    if (!running || !current) return;
    const t = setInterval(async () => {
      const res = await fetch(`/api/backups/${current.id}`, { cache: "no-store" });
      if (!res.ok) return;
      const next = (await res.json()) as BackupRow;
      setCurrent(next);
      if (next.status === "succeeded" || next.status === "failed") router.refresh();
    }, 1500);
    return () => clearInterval(t);
  }, [running, current, router]);

  async function start() {
    setBusy(true);
    setError(null);
    const res = await fetch("/api/backups", { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
    const body = await res.json().catch(() => null);
    setBusy(false);
    if (res.ok) {
      setCurrent(body as BackupRow);
      router.refresh();
    } else setError(body?.error?.message ?? `Could not start a backup (HTTP ${res.status}).`);
  }

  const pct = current && current.rowsTotal > 0 ? Math.min(100, Math.round((current.rowsDone / current.rowsTotal) * 100)) : 0;
  return (
    <section aria-label="Backup now" className="space-y-3 rounded-md border border-zinc-200 p-4 dark:border-zinc-800">
      <div className="flex flex-wrap items-center gap-3">
        <button
          type="button"
          onClick={start}
          disabled={busy || Boolean(running)}
          className="rounded-md bg-zinc-900 px-3 py-1.5 text-sm font-medium text-white disabled:opacity-50 dark:bg-zinc-100 dark:text-zinc-900"
        >
          {busy ? "Starting…" : running ? "Backup in progress" : "Back up now"}
        </button>
        {error && (
          <p role="alert" className="text-sm text-red-600">
            {error}
          </p>
        )}
      </div>
      {current && running && (
        <div data-testid="backup-progress" className="space-y-1 text-sm">
          <div className="flex justify-between">
            <span>
              {current.status === "queued" ? "Queued" : `Running: ${current.phase}`} — {current.rowsDone.toLocaleString()} / {current.rowsTotal.toLocaleString()} rows
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
        <p role="status" className="text-sm text-red-600">
          Last backup failed: {current.error}
        </p>
      )}
    </section>
  );
}
