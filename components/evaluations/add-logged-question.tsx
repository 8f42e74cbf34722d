"use client";
import { useState } from "react";
import { Button } from "@/components/ui/button";
import { FormError } from "@/components/ui/form-error";
import { errorMessage, fetchJson } from "@/lib/http/client-fetch";

/** Adds a logged question (from the Ask page's logs) to this dataset as a new version. */
export function AddLoggedQuestion({ datasetId, logs }: { datasetId: string; logs: Array<{ id: string; question: string; at: string }> }) {
  const [error, setError] = useState<string | null>(null);
  async function add(queryLogId: string) {
    setError(null);
    try {
      await fetchJson(`/api/datasets/${datasetId}/items`, { method: "POST", json: { queryLogId } });
      window.location.reload();
    } catch (err) {
      setError(errorMessage(err));
    }
  }
  if (logs.length === 0) return <p className="text-sm text-zinc-500">No logged questions yet.</p>;
  return (
    <div className="space-y-2 text-sm">
      <ul className="space-y-1">
        {logs.map((l) => (
          <li key={l.id} className="flex min-w-0 items-center justify-between gap-2">
            <span className="min-w-0 truncate">{l.question}</span>
            <Button size="sm" onClick={() => void add(l.id)}>
              Add
            </Button>
          </li>
        ))}
      </ul>
      <FormError message={error} />
    </div>
  );
}
