"use client";
import { useRouter } from "next/navigation";
import { useState } from "react";
import { adminApi, buttonClass, inputClass, smallButtonClass } from "./api";

export interface CollectionRow {
  id: string;
  slug: string;
  name: string;
  restricted: boolean;
  documentCount: number;
  members: Array<{ userId: string; email: string }>;
}

export function CollectionsAdmin({ collections, users }: { collections: CollectionRow[]; users: Array<{ id: string; email: string }> }) {
  const router = useRouter();
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function run(fn: () => Promise<unknown>) {
    setBusy(true);
    setError(null);
    try {
      await fn();
      router.refresh();
    } catch (e) {
      setError((e as Error).message);
    } finally {
      setBusy(false);
    }
  }

  return (
    <div className="space-y-6">
      <form
        aria-label="Create collection"
        className="flex flex-wrap items-end gap-2 rounded-lg border border-zinc-200 p-3 dark:border-zinc-800"
        onSubmit={(e) => {
          e.preventDefault();
          const form = e.currentTarget;
          const f = new FormData(form);
          void run(async () => {
            await adminApi("POST", "/api/admin/collections", { slug: f.get("slug"), name: f.get("name"), restricted: f.get("restricted") === "on" });
            form.reset();
          });
        }}
      >
        <label className="text-sm">
          <span className="block text-xs text-zinc-500">Name</span>
          <input name="name" required className={inputClass} />
        </label>
        <label className="text-sm">
          <span className="block text-xs text-zinc-500">Slug</span>
          <input name="slug" required pattern="[a-z0-9][a-z0-9-]*" className={inputClass} />
        </label>
        <label className="flex items-center gap-1 text-sm">
          <input type="checkbox" name="restricted" /> members only
        </label>
        <button type="submit" disabled={busy} className={buttonClass}>
          Create collection
        </button>
      </form>
      {error && (
        <p role="alert" className="text-sm text-red-600">
          {error}
        </p>
      )}
      {collections.map((c) => {
        const memberIds = new Set(c.members.map((m) => m.userId));
        return (
          <section key={c.id} className="rounded-lg border border-zinc-200 p-3 dark:border-zinc-800" data-collection={c.slug}>
            <div className="flex flex-wrap items-center justify-between gap-2">
              <h2 className="font-medium">
                {c.name} <span className="text-xs text-zinc-500">{c.slug} · {c.documentCount} documents</span>
              </h2>
              <label className="flex items-center gap-1 text-sm">
                <input
                  type="checkbox"
                  checked={c.restricted}
                  disabled={busy}
                  onChange={(e) => run(() => adminApi("PATCH", `/api/admin/collections/${c.id}`, { restricted: e.target.checked }))}
                />
                members only
              </label>
            </div>
            <p className="mt-1 text-xs text-zinc-500">
              {c.restricted ? "Only the members below (and admins) can see this collection anywhere." : "Every signed-in user can see this collection."}
            </p>
            <div className="mt-2 flex flex-wrap gap-2">
              {users.map((u) => (
                <button
                  key={u.id}
                  type="button"
                  disabled={busy}
                  aria-pressed={memberIds.has(u.id)}
                  className={`${smallButtonClass} ${memberIds.has(u.id) ? "bg-zinc-900 text-white dark:bg-zinc-100 dark:text-zinc-900" : ""}`}
                  onClick={() => {
                    const next = new Set(memberIds);
                    if (next.has(u.id)) next.delete(u.id);
                    else next.add(u.id);
                    void run(() => adminApi("PUT", `/api/admin/collections/${c.id}/members`, { userIds: [...next] }));
                  }}
                >
                  {u.email}
                </button>
              ))}
            </div>
          </section>
        );
      })}
    </div>
  );
}
