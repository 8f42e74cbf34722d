// The one list of collections a form picks from: a <select> over the collections the page was given (the
// caller's readable or writable ones, decided by the page through the access context).
import type { ComponentProps } from "react";
import { controlClass, Field } from "@/components/ui/field";

type Collections = ReadonlyArray<{ id: string; name: string }>;

/** A select of collections; `anyLabel` adds a first option with the empty value ("All"). */
export function CollectionSelect({ collections, anyLabel, className, ...select }: { collections: Collections; anyLabel?: string } & ComponentProps<"select">) {
  return (
    <select className={className ?? controlClass} {...select}>
      {anyLabel !== undefined && <option value="">{anyLabel}</option>}
      {collections.map((c) => (
        <option key={c.id} value={c.id}>
          {c.name}
        </option>
      ))}
    </select>
  );
}

/** The collection a form writes into: a labelled `collectionId` field. */
export function CollectionField({ label, collections, className }: { label: string; collections: Collections; className: string }) {
  return (
    <Field label={label} className={className}>
      <CollectionSelect name="collectionId" collections={collections} />
    </Field>
  );
}
