"use client";
import { useState } from "react";

/** Adds a logged question (from the Ask page's logs) to this dataset as a new version. */
export function AddLoggedQuestion({ datasetId, logs }: { datasetId: string; logs: Array<{ id: string; question: string; at: string }> }) {
  const [error, setError] = useState<string | null>(null);
  async function add(queryLogId: string) {
    setError(null);
    const res = await fetch(`/api/datasets/${datasetId}/items`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ queryLogId }) });
    if (res.ok) window.location.reload();
    else {
      const body = await res.json().catch(() => null);
      setError(body?.error?.message ?? `Could not add (HTTP ${res.status}).`);
    }
  }
  if (logs.length === 0) return <p className="text-sm text-zinc-500">No logged questions yet.</p>;
  return (
    <div className="text-sm">
      <ul className="space-y-1">
        {logs.map((l) => (
          <li key={l.id} className="flex items-center justify-between gap-2">
            <span className="truncate">{l.question}</span>
            <button type="button" onClick={() => void add(l.id)} className="shrink-0 rounded border border-zinc-300 px-2 py-0.5 text-xs dark:border-zinc-700">
              Add
            </button>
          </li>
        ))}
      </ul>
      {error && (
        <p role="alert" className="text-red-600">
          {error}
        </p>
      )}
    </div>
  );
}
