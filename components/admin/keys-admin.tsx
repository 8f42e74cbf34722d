"use client";
import { useState } from "react";
import { Button } from "@/components/ui/button";
import { ConfirmDialog } from "@/components/ui/confirm-dialog";
import { CheckField, controlClass, Field } from "@/components/ui/field";
import { FormError } from "@/components/ui/form-error";
import { Card } from "@/components/ui/page-header";
import { StatusBadge } from "@/components/ui/status-badge";
import { Table } from "@/components/ui/table";
import type { CollectionOption, KeyView } from "@/lib/access/types";
import { fetchJson } from "@/lib/http/client-fetch";
import { usePageAction } from "@/components/ui/use-page-action";

const SCOPES = ["ask", "score", "import", "admin"] as const;

export function KeysAdmin({ keys, collections }: { keys: KeyView[]; collections: CollectionOption[] }) {
  const { run, busy, error } = usePageAction();
  const [shown, setShown] = useState<{ name: string; key: string } | null>(null);
  const [revoking, setRevoking] = useState<KeyView | null>(null);
  const names = new Map(collections.map((c) => [c.id, c.name]));

  async function create(e: React.FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const form = e.currentTarget;
    const f = new FormData(form);
    const days = Number(f.get("days") || 0);
    await run(async () => {
      const res = await fetchJson<{ key: string; name: string }>("/api/admin/keys", {
        method: "POST",
        json: { name: f.get("name"), scopes: f.getAll("scopes"), collectionIds: f.getAll("collections"), ...(days > 0 ? { expiresInDays: days } : {}) },
      });
      setShown({ name: res.name, key: res.key });
      form.reset();
    });
  }

  return (
    <div className="space-y-6">
      <Card>
        <form onSubmit={create} aria-label="Create API key" className="space-y-3">
          <div className="flex flex-wrap items-end gap-3">
            <Field label="Name" className="w-full sm:w-56">
              <input name="name" required maxLength={100} className={controlClass} />
            </Field>
            <fieldset className="text-sm">
              <legend className="text-xs font-medium text-zinc-600 dark:text-zinc-400">Scopes</legend>
              <div className="flex flex-wrap gap-3 py-1.5">
                {SCOPES.map((s) => (
                  <CheckField key={s}>
                    <input type="checkbox" name="scopes" value={s} defaultChecked={s === "ask"} /> {s}
                  </CheckField>
                ))}
              </div>
            </fieldset>
            <Field label="Expires after (days, empty: never)" className="w-full sm:w-56">
              <input name="days" type="number" min={1} max={3650} className={controlClass} />
            </Field>
          </div>
          {collections.length > 0 && (
            <fieldset className="text-sm">
              <legend className="text-xs font-medium text-zinc-600 dark:text-zinc-400">Only these collections (none ticked: every collection its creator may read)</legend>
              <div className="flex flex-wrap gap-3 py-1.5">
                {collections.map((c) => (
                  <CheckField key={c.id}>
                    <input type="checkbox" name="collections" value={c.id} /> {c.name}
                  </CheckField>
                ))}
              </div>
            </fieldset>
          )}
          <Button type="submit" variant="primary" disabled={busy}>
            Create key
          </Button>
        </form>
      </Card>
      {shown && (
        <div role="status" className="rounded-lg border border-amber-400 bg-amber-50 p-3 text-sm dark:bg-amber-950" data-testid="new-key">
          <p className="font-medium">Key “{shown.name}” — copy it now: it is shown only once and stored only as a hash.</p>
          <code className="mt-1 block font-mono text-xs break-all" data-testid="new-key-value">
            {shown.key}
          </code>
          <Button size="sm" className="mt-2" onClick={() => setShown(null)}>
            I have copied it
          </Button>
        </div>
      )}
      <FormError message={error} />
      <Table
        testId="keys-table"
        empty="No API keys yet."
        columns={[
          { header: "Name", sortable: true },
          { header: "Key" },
          { header: "Scopes" },
          { header: "Collections" },
          { header: "Expires", sortable: true },
          { header: "Last used", sortable: true },
          { header: "Status", sortable: true },
          { header: "Actions", srOnly: true, align: "right" },
        ]}
        rows={keys.map((k) => ({
          key: k.id,
          attrs: { "data-key-name": k.name },
          sort: [k.name, null, null, null, k.expiresAt, k.lastUsedAt, k.status],
          cells: [
            <span key="n">
              {k.name}
              {k.createdBy && <span className="block text-xs text-zinc-500">by {k.createdBy}</span>}
            </span>,
            <code key="p" className="font-mono text-xs whitespace-nowrap">{k.prefix}</code>,
            k.scopes.join(", "),
            <span key="c" className="text-xs">{k.collectionIds.length ? k.collectionIds.map((id) => names.get(id) ?? id).join(", ") : "all its creator may read"}</span>,
            <span key="x" className="text-xs whitespace-nowrap text-zinc-500">{k.expiresAt ? new Date(k.expiresAt).toLocaleDateString() : "never"}</span>,
            <span key="u" className="text-xs whitespace-nowrap text-zinc-500">{k.lastUsedAt ? new Date(k.lastUsedAt).toLocaleString() : "never"}</span>,
            <StatusBadge key="s" status={k.status} tone={k.status === "active" ? "success" : undefined} />,
            k.status === "active" ? (
              <Button key="a" size="sm" variant="danger" disabled={busy} onClick={() => setRevoking(k)}>
                Revoke
              </Button>
            ) : null,
          ],
        }))}
      />
      <ConfirmDialog
        open={revoking !== null}
        title={`Revoke the key “${revoking?.name ?? ""}”?`}
        confirmLabel="Revoke key"
        onCancel={() => setRevoking(null)}
        onConfirm={() => {
          const id = revoking!.id;
          setRevoking(null);
          void run(() => fetchJson(`/api/admin/keys/${id}`, { method: "DELETE" }));
        }}
      >
        Scripts and services using it are refused from the next request on, and so are the keys made with it. This cannot be undone.
      </ConfirmDialog>
    </div>
  );
}
