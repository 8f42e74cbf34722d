"use client";
import { DeleteWithApproval } from "@/components/approvals/delete-with-approval";
import { Button } from "@/components/ui/button";
import { CheckField, controlClass, Field } from "@/components/ui/field";
import { FormError } from "@/components/ui/form-error";
import { Card } from "@/components/ui/page-header";
import type { CollectionAccessView } from "@/lib/access/types";
import { fetchJson } from "@/lib/http/client-fetch";
import { usePageAction } from "@/components/ui/use-page-action";

export function CollectionsAdmin({ collections, users }: { collections: CollectionAccessView[]; users: Array<{ id: string; email: string }> }) {
  const { run, busy, error } = usePageAction();

  return (
    <div className="space-y-6">
      <Card>
        <form
          aria-label="Create collection"
          className="flex flex-wrap items-end gap-3"
          onSubmit={(e) => {
            e.preventDefault();
            const form = e.currentTarget;
            const f = new FormData(form);
            void run(async () => {
              await fetchJson("/api/admin/collections", { method: "POST", json: { slug: f.get("slug"), name: f.get("name"), restricted: f.get("restricted") === "on" } });
              form.reset();
            });
          }}
        >
          <Field label="Name" className="w-full sm:w-56">
            <input name="name" required className={controlClass} />
          </Field>
          <Field label="Slug" className="w-full sm:w-44">
            <input name="slug" required pattern="[a-z0-9][a-z0-9-]*" className={controlClass} />
          </Field>
          <CheckField>
            <input type="checkbox" name="restricted" /> members only
          </CheckField>
          <Button type="submit" variant="primary" disabled={busy}>
            Create collection
          </Button>
        </form>
      </Card>
      <FormError message={error} />
      {collections.map((c) => {
        const memberIds = new Set(c.members.map((m) => m.userId));
        return (
          <Card key={c.id} data-collection={c.slug}>
            <div className="flex flex-wrap items-center justify-between gap-2">
              <h2 className="min-w-0 font-medium break-words">
                {c.name}{" "}
                <span className="text-xs text-zinc-500">
                  {c.slug} · {c.documentCount} documents
                </span>
              </h2>
              <CheckField>
                <input
                  type="checkbox"
                  checked={c.restricted}
                  disabled={busy}
                  onChange={(e) => run(() => fetchJson(`/api/admin/collections/${c.id}`, { method: "PATCH", json: { restricted: e.target.checked } }))}
                />
                members only
              </CheckField>
            </div>
            <p className="mt-1 text-xs text-zinc-500">
              {c.restricted ? "Only the members below (and admins) can see this collection anywhere." : "Every signed-in user can see this collection."}
            </p>
            <div className="mt-2 flex flex-wrap gap-2">
              {users.map((u) => (
                <Button
                  key={u.id}
                  size="sm"
                  variant={memberIds.has(u.id) ? "primary" : "secondary"}
                  disabled={busy}
                  aria-pressed={memberIds.has(u.id)}
                  className="max-w-full truncate"
                  onClick={() => {
                    const next = new Set(memberIds);
                    if (next.has(u.id)) next.delete(u.id);
                    else next.add(u.id);
                    void run(() => fetchJson(`/api/admin/collections/${c.id}/members`, { method: "PUT", json: { userIds: [...next] } }));
                  }}
                >
                  {u.email}
                </Button>
              ))}
            </div>
            <div className="mt-3">
              <DeleteWithApproval url={`/api/admin/collections/${c.id}`} what={`collection ${c.name}`} testId="delete-collection" />
            </div>
          </Card>
        );
      })}
    </div>
  );
}
