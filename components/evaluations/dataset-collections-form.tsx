"use client";
import { useState } from "react";
import { chosenCollections, CollectionPicker, type CollectionChoice } from "./collection-picker";

/** Rebinds a dataset to other collections (PATCH /api/datasets/{id}); runs already made keep theirs. */
export function DatasetCollectionsForm({ datasetId, collections, selected }: { datasetId: string; collections: CollectionChoice[]; selected: string[] }) {
  const [error, setError] = useState<string | null>(null);
  async function onSubmit(e: React.FormEvent<HTMLFormElement>) {
    e.preventDefault();
    setError(null);
    const res = await fetch(`/api/datasets/${datasetId}`, {
      method: "PATCH",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ collectionIds: chosenCollections(new FormData(e.currentTarget), collections) ?? [] }),
    });
    if (res.ok) window.location.reload();
    else {
      const body = await res.json().catch(() => null);
      setError(body?.error?.details?.[0]?.message ?? body?.error?.message ?? `Could not save (HTTP ${res.status}).`);
    }
  }
  return (
    <form onSubmit={onSubmit} className="space-y-2 text-sm" aria-label="Dataset collections">
      <CollectionPicker collections={collections} selected={selected} />
      <button type="submit" className="rounded-md border border-zinc-300 px-3 py-1.5 font-medium dark:border-zinc-700">
        Save collections
      </button>
      {error && (
        <p role="alert" className="text-red-600">
          {error}
        </p>
      )}
    </form>
  );
}
