"use client";
import { useState } from "react";
import { Button } from "@/components/ui/button";
import { controlClass, Field } from "@/components/ui/field";
import { FormError } from "@/components/ui/form-error";
import { ApiError, errorMessage, fetchJson } from "@/lib/http/client-fetch";
import { chosenCollections, CollectionPicker, type CollectionChoice } from "./collection-picker";

/** Imports a JSONL or CSV file as a new dataset (bound to the chosen collections), or as a new version of `datasetId`. All or nothing. */
export function DatasetImportForm({ datasetId, collections = [] }: { datasetId?: string; collections?: CollectionChoice[] }) {
  const [problems, setProblems] = useState<{ message: string; details: Array<{ path: string; message: string }> } | null>(null);
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
    try {
      const created = await fetchJson<{ id: string }>("/api/datasets/import", { method: "POST", json: payload });
      window.location.assign(`/evaluations/datasets/${created.id}`);
    } catch (err) {
      setBusy(false);
      // A rejected file names every bad line (as "line N" details).
      setProblems(err instanceof ApiError ? { message: err.message, details: err.details } : { message: errorMessage(err), details: [] });
    }
  }
  return (
    <form onSubmit={onSubmit} className="space-y-2 text-sm" aria-label="Import dataset">
      {!datasetId && (
        <Field label="Name of the new dataset">
          <input name="name" required className={controlClass} />
        </Field>
      )}
      {!datasetId && <CollectionPicker collections={collections} />}
      <Field label="File (.jsonl or .csv)">
        <input name="file" type="file" accept=".jsonl,.csv,.ndjson,text/csv" className="max-w-full text-sm" />
      </Field>
      {datasetId && (
        <Field label="Items" className="sm:w-72">
          <select name="mode" className={controlClass}>
            <option value="replace">replace the current items</option>
            <option value="append">append to the current items</option>
          </select>
        </Field>
      )}
      <Button type="submit" disabled={busy}>
        {busy ? "Importing…" : "Import"}
      </Button>
      <FormError message={problems?.message} details={problems?.details} />
    </form>
  );
}
