// The collection a form writes into: one <select name="collectionId"> over the collections the caller may write.
import { controlClass, Field } from "@/components/ui/field";

export function CollectionField({ label, collections, className }: { label: string; collections: ReadonlyArray<{ id: string; name: string }>; className: string }) {
  return (
    <Field label={label} className={className}>
      <select name="collectionId" className={controlClass}>
        {collections.map((c) => (
          <option key={c.id} value={c.id}>
            {c.name}
          </option>
        ))}
      </select>
    </Field>
  );
}
