"use client";
import type { CollectionOption } from "@/lib/access/types";

/** A collection a dataset can be bound to. */
export type CollectionChoice = CollectionOption;

/**
 * Which collections a dataset's questions are asked over (checkboxes named `collectionIds`). Only people
 * who may read every chosen collection see the dataset and its runs.
 */
export function CollectionPicker({ collections, selected }: { collections: CollectionChoice[]; selected?: string[] }) {
  if (collections.length === 0) return null;
  const chosen = new Set(selected ?? collections.map((c) => c.id));
  return (
    <fieldset className="text-sm" data-testid="collection-picker">
      <legend className="mb-1 font-medium">Collections</legend>
      <div className="flex flex-wrap gap-x-3 gap-y-1">
        {collections.map((c) => (
          <label key={c.id} className="flex items-center gap-1">
            <input type="checkbox" name="collectionIds" value={c.id} defaultChecked={chosen.has(c.id)} /> {c.name}
          </label>
        ))}
      </div>
      <span className="mt-1 block text-xs text-zinc-500">Its questions are asked over these; only people who may read all of them see it.</span>
    </fieldset>
  );
}

/** The chosen collection ids of a form with a CollectionPicker; undefined when the form has none. */
export function chosenCollections(form: FormData, offered: CollectionChoice[]): string[] | undefined {
  if (offered.length === 0) return undefined;
  return form.getAll("collectionIds").map(String);
}
