"use client";
import { useState } from "react";
import { Button } from "@/components/ui/button";
import { controlClass, Field } from "@/components/ui/field";
import { FormError } from "@/components/ui/form-error";
import { errorMessage, fetchJson } from "@/lib/http/client-fetch";
import { chosenCollections, CollectionPicker, type CollectionChoice } from "./collection-picker";

/** Creates an empty dataset (POST /api/datasets), bound to the chosen collections, and opens it to add items. */
export function NewDatasetForm({ collections }: { collections: CollectionChoice[] }) {
  const [error, setError] = useState<string | null>(null);
  async function onSubmit(e: React.FormEvent<HTMLFormElement>) {
    e.preventDefault();
    setError(null);
    const form = new FormData(e.currentTarget);
    try {
      const created = await fetchJson<{ id: string }>("/api/datasets", {
        method: "POST",
        json: { name: String(form.get("name") ?? ""), description: String(form.get("description") ?? ""), collectionIds: chosenCollections(form, collections) },
      });
      window.location.assign(`/evaluations/datasets/${created.id}`);
    } catch (err) {
      setError(errorMessage(err));
    }
  }
  return (
    <form onSubmit={onSubmit} className="flex flex-wrap items-end gap-3 text-sm" aria-label="New dataset">
      <Field label="Name" className="w-full sm:w-56">
        <input name="name" required className={controlClass} />
      </Field>
      <Field label="Description" className="w-full sm:w-72">
        <input name="description" className={controlClass} />
      </Field>
      <CollectionPicker collections={collections} />
      <Button type="submit">Create dataset</Button>
      <FormError message={error} className="w-full" />
    </form>
  );
}
