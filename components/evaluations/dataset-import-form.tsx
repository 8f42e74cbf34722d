"use client";
import { useState } from "react";
import { chosenCollections, CollectionPicker, type CollectionChoice } from "./collection-picker";

/** Imports a JSONL or CSV file as a new dataset (bound to the chosen collections), or as a new version of `datasetId`. All or nothing. */
export function DatasetImportForm({ datasetId, collections = [] }: { datasetId?: string; collections?: CollectionChoice[] }) {
  const [problems, setProblems] = useState<{ message: string; details: Array<{ line: number; message: string }> } | null>(null);
  const [busy, setBusy] = useState(false);
  async function onSubmit(e: React.FormEvent<HTMLFormElement>) {
    e.preventDefault();
    setBusy(true);
    setProblems(null);
    const form = new FormData(e.currentTarget);
    const file = form.get("file") as File | null;
    if (!file || file.size === 0) {
      setBusy(false);
      setProblems({ message: "Choose a .jsonl or .csv file.", details: [] });
      return;
    }
    const format = file.name.toLowerCase().endsWith(".csv") ? "csv" : "jsonl";
    const payload = {
      format,
      text: await file.text(),
      ...(datasetId
        ? { datasetId, mode: String(form.get("mode") ?? "replace") }
        : { name: String(form.get("name") ?? ""), collectionIds: chosenCollections(form, collections) }),
    };
    const res = await fetch("/api/datasets/import", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(payload) });
    const body = await res.json().catch(() => null);
    setBusy(false);
    if (res.ok) window.location.assign(`/evaluations/datasets/${body.id}`);
    else setProblems({ message: body?.error?.message ?? `Import failed (HTTP ${res.status}).`, details: Array.isArray(body?.error?.details) ? body.error.details : [] });
  }
  return (
    <form onSubmit={onSubmit} className="space-y-2 text-sm" aria-label="Import dataset">
      {!datasetId && (
        <label className="block">
          <span className="mb-1 block font-medium">Name of the new dataset</span>
          <input name="name" required className="w-full rounded-md border border-zinc-300 bg-transparent px-2 py-1.5 dark:border-zinc-700" />
        </label>
      )}
      {!datasetId && <CollectionPicker collections={collections} />}
      <label className="block">
        <span className="mb-1 block font-medium">File (.jsonl or .csv)</span>
        <input name="file" type="file" accept=".jsonl,.csv,.ndjson,text/csv" />
      </label>
      {datasetId && (
        <label className="block">
          <span className="mb-1 block font-medium">Items</span>
          <select name="mode" className="rounded-md border border-zinc-300 bg-transparent px-2 py-1 dark:border-zinc-700">
            <option value="replace">replace the current items</option>
            <option value="append">append to the current items</option>
          </select>
        </label>
      )}
      <button type="submit" disabled={busy} className="rounded-md border border-zinc-300 px-3 py-1.5 font-medium disabled:opacity-50 dark:border-zinc-700">
        {busy ? "Importing…" : "Import"}
      </button>
      {problems && (
        <div role="alert" className="text-red-600">
          <p>{problems.message}</p>
          <ul className="list-disc pl-5">
            {problems.details.map((d, i) => (
              <li key={i}>
                line {d.line}: {d.message}
              </li>
            ))}
          </ul>
        </div>
      )}
    </form>
  );
}
