"use client";
import { useState } from "react";
import { chosenCollections, CollectionPicker, type CollectionChoice } from "./collection-picker";

/** Creates an empty dataset (POST /api/datasets), bound to the chosen collections, and opens it to add items. */
export function NewDatasetForm({ collections }: { collections: CollectionChoice[] }) {
  const [error, setError] = useState<string | null>(null);
  async function onSubmit(e: React.FormEvent<HTMLFormElement>) {
    e.preventDefault();
    setError(null);
    const form = new FormData(e.currentTarget);
    const res = await fetch("/api/datasets", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        name: String(form.get("name") ?? ""),
        description: String(form.get("description") ?? ""),
        collectionIds: chosenCollections(form, collections),
      }),
    });
    const body = await res.json().catch(() => null);
    if (res.ok) window.location.assign(`/evaluations/datasets/${body.id}`);
    else setError(body?.error?.message ?? `Could not create the dataset (HTTP ${res.status}).`);
  }
  return (
    <form onSubmit={onSubmit} className="flex flex-wrap items-end gap-2 text-sm" aria-label="New dataset">
      <label>
        <span className="mb-1 block font-medium">Name</span>
        <input name="name" required className="rounded-md border border-zinc-300 bg-transparent px-2 py-1.5 dark:border-zinc-700" />
      </label>
      <label>
        <span className="mb-1 block font-medium">Description</span>
        <input name="description" className="rounded-md border border-zinc-300 bg-transparent px-2 py-1.5 dark:border-zinc-700" />
      </label>
      <CollectionPicker collections={collections} />
      <button type="submit" className="rounded-md border border-zinc-300 px-3 py-1.5 font-medium dark:border-zinc-700">
        Create dataset
      </button>
      {error && (
        <p role="alert" className="w-full text-red-600">
          {error}
        </p>
      )}
    </form>
  );
}
