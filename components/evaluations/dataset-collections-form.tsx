"use client";
import { useState } from "react";
import { Button } from "@/components/ui/button";
import { FormError } from "@/components/ui/form-error";
import { errorMessage, fetchJson } from "@/lib/http/client-fetch";
import { chosenCollections, CollectionPicker, type CollectionChoice } from "./collection-picker";

/** Rebinds a dataset to other collections (PATCH /api/datasets/{id}); runs already made keep theirs. */
export function DatasetCollectionsForm({ datasetId, collections, selected }: { datasetId: string; collections: CollectionChoice[]; selected: string[] }) {
  const [error, setError] = useState<string | null>(null);
  async function onSubmit(e: React.FormEvent<HTMLFormElement>) {
    e.preventDefault();
    setError(null);
    try {
      await fetchJson(`/api/datasets/${datasetId}`, { method: "PATCH", json: { collectionIds: chosenCollections(new FormData(e.currentTarget), collections) ?? [] } });
      window.location.reload();
    } catch (err) {
      setError(errorMessage(err));
    }
  }
  return (
    <form onSubmit={onSubmit} className="space-y-2 text-sm" aria-label="Dataset collections">
      <CollectionPicker collections={collections} selected={selected} />
      <Button type="submit">Save collections</Button>
      <FormError message={error} />
    </form>
  );
}
