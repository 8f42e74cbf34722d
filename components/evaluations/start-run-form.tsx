"use client";
import { useState } from "react";

/** Starts an evaluation run of a dataset (POST /api/runs) and opens it. */
export function StartRunForm({ datasets }: { datasets: Array<{ id: string; name: string; itemCount: number }> }) {
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  async function onSubmit(e: React.FormEvent<HTMLFormElement>) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    const datasetId = String(new FormData(e.currentTarget).get("datasetId"));
    const res = await fetch("/api/runs", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ datasetId }) });
    const body = await res.json().catch(() => null);
    setBusy(false);
    if (res.ok) window.location.assign(`/evaluations/runs/${body.id}`);
    else setError(body?.error?.message ?? `Could not start the run (HTTP ${res.status}).`);
  }
  if (datasets.length === 0) return <p className="text-sm text-zinc-500">Create a dataset to run an evaluation.</p>;
  return (
    <form onSubmit={onSubmit} className="flex flex-wrap items-end gap-2" aria-label="Start a run">
      <label className="text-sm">
        <span className="mb-1 block font-medium">Dataset</span>
        <select name="datasetId" className="rounded-md border border-zinc-300 bg-transparent px-2 py-1.5 dark:border-zinc-700">
          {datasets.map((d) => (
            <option key={d.id} value={d.id}>
              {d.name} ({d.itemCount} items)
            </option>
          ))}
        </select>
      </label>
      <button type="submit" disabled={busy} className="rounded-md bg-zinc-900 px-3 py-1.5 text-sm font-medium text-white disabled:opacity-50 dark:bg-zinc-100 dark:text-zinc-900">
        {busy ? "Starting…" : "Start run"}
      </button>
      {error && (
        <p role="alert" className="w-full text-sm text-red-600">
          {error}
        </p>
      )}
    </form>
  );
}
