"use client";
import { useState } from "react";
import { Button } from "@/components/ui/button";
import { controlClass, Field } from "@/components/ui/field";
import { FormError } from "@/components/ui/form-error";
import { errorMessage, fetchJson } from "@/lib/http/client-fetch";

/** Starts an evaluation run of a dataset (POST /api/runs) and opens it. */
export function StartRunForm({ datasets }: { datasets: Array<{ id: string; name: string; itemCount: number }> }) {
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  async function onSubmit(e: React.FormEvent<HTMLFormElement>) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    const datasetId = String(new FormData(e.currentTarget).get("datasetId"));
    try {
      const run = await fetchJson<{ id: string }>("/api/runs", { method: "POST", json: { datasetId } });
      window.location.assign(`/evaluations/runs/${run.id}`);
    } catch (err) {
      setBusy(false);
      setError(errorMessage(err));
    }
  }
  if (datasets.length === 0) return <p className="text-sm text-zinc-500">Create a dataset to run an evaluation.</p>;
  return (
    <form onSubmit={onSubmit} className="flex flex-wrap items-end gap-2" aria-label="Start a run">
      <Field label="Dataset" className="w-full sm:w-72">
        <select name="datasetId" className={controlClass}>
          {datasets.map((d) => (
            <option key={d.id} value={d.id}>
              {d.name} ({d.itemCount} items)
            </option>
          ))}
        </select>
      </Field>
      <Button type="submit" variant="primary" disabled={busy}>
        {busy ? "Starting…" : "Start run"}
      </Button>
      <FormError message={error} className="w-full" />
    </form>
  );
}
