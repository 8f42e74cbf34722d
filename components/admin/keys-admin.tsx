"use client";
import { useRouter } from "next/navigation";
import { useState } from "react";
import { adminApi, buttonClass, inputClass, smallButtonClass } from "./api";

export interface KeyRow {
  id: string;
  name: string;
  prefix: string;
  scopes: string[];
  collectionIds: string[];
  expiresAt: string | null;
  lastUsedAt: string | null;
  createdBy: string | null;
  createdAt: string;
  status: "active" | "revoked" | "expired";
}

const SCOPES = ["ask", "score", "import", "admin"] as const;

export function KeysAdmin({ keys, collections }: { keys: KeyRow[]; collections: Array<{ id: string; name: string }> }) {
  const router = useRouter();
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [shown, setShown] = useState<{ name: string; key: string } | null>(null);
  const names = new Map(collections.map((c) => [c.id, c.name]));

  async function create(e: React.FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const form = e.currentTarget;
    const f = new FormData(form);
    const days = Number(f.get("days") || 0);
    setBusy(true);
    setError(null);
    try {
      const res = await adminApi<{ key: string; name: string }>("POST", "/api/admin/keys", {
        name: f.get("name"),
        scopes: f.getAll("scopes"),
        collectionIds: f.getAll("collections"),
        ...(days > 0 ? { expiresInDays: days } : {}),
      });
      setShown({ name: res.name, key: res.key });
      form.reset();
      router.refresh();
    } catch (err) {
      setError((err as Error).message);
    } finally {
      setBusy(false);
    }
  }

  async function revoke(id: string) {
    setBusy(true);
    setError(null);
    try {
      await adminApi("DELETE", `/api/admin/keys/${id}`);
      router.refresh();
    } catch (err) {
      setError((err as Error).message);
    } finally {
      setBusy(false);
    }
  }

  return (
    <div className="space-y-6">
      <form onSubmit={create} aria-label="Create API key" className="space-y-3 rounded-lg border border-zinc-200 p-3 dark:border-zinc-800">
        <div className="flex flex-wrap items-end gap-3">
          <label className="text-sm">
            <span className="block text-xs text-zinc-500">Name</span>
            <input name="name" required maxLength={100} className={inputClass} />
          </label>
          <fieldset className="text-sm">
            <legend className="text-xs text-zinc-500">Scopes</legend>
            <div className="flex gap-3 py-1.5">
              {SCOPES.map((s) => (
                <label key={s} className="flex items-center gap-1">
                  <input type="checkbox" name="scopes" value={s} defaultChecked={s === "ask"} /> {s}
                </label>
              ))}
            </div>
          </fieldset>
          <label className="text-sm">
            <span className="block text-xs text-zinc-500">Expires after (days, empty: never)</span>
            <input name="days" type="number" min={1} max={3650} className={inputClass} />
          </label>
        </div>
        {collections.length > 0 && (
          <fieldset className="text-sm">
            <legend className="text-xs text-zinc-500">Only these collections (none ticked: every collection its creator may read)</legend>
            <div className="flex flex-wrap gap-3 py-1.5">
              {collections.map((c) => (
                <label key={c.id} className="flex items-center gap-1">
                  <input type="checkbox" name="collections" value={c.id} /> {c.name}
                </label>
              ))}
            </div>
          </fieldset>
        )}
        <button type="submit" disabled={busy} className={buttonClass}>
          Create key
        </button>
      </form>
      {shown && (
        <div role="status" className="rounded-lg border border-amber-400 bg-amber-50 p-3 text-sm dark:bg-amber-950" data-testid="new-key">
          <p className="font-medium">Key “{shown.name}” — copy it now: it is shown only once and stored only as a hash.</p>
          <code className="mt-1 block break-all font-mono text-xs" data-testid="new-key-value">
            {shown.key}
          </code>
          <button type="button" className={`${smallButtonClass} mt-2`} onClick={() => setShown(null)}>
            I have copied it
          </button>
        </div>
      )}
      {error && (
        <p role="alert" className="text-sm text-red-600">
          {error}
        </p>
      )}
      <table className="w-full text-left text-sm" data-testid="keys-table">
        <thead className="text-xs uppercase text-zinc-500">
          <tr>
            <th className="py-1">Name</th>
            <th>Key</th>
            <th>Scopes</th>
            <th>Collections</th>
            <th>Expires</th>
            <th>Last used</th>
            <th>Status</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {keys.map((k) => (
            <tr key={k.id} className="border-t border-zinc-200 dark:border-zinc-800" data-key-name={k.name}>
              <td className="py-1.5">
                {k.name}
                {k.createdBy && <div className="text-xs text-zinc-500">by {k.createdBy}</div>}
              </td>
              <td className="font-mono text-xs">{k.prefix}</td>
              <td>{k.scopes.join(", ")}</td>
              <td className="text-xs">{k.collectionIds.length ? k.collectionIds.map((id) => names.get(id) ?? id).join(", ") : "all its creator may read"}</td>
              <td className="text-xs text-zinc-500">{k.expiresAt ? new Date(k.expiresAt).toLocaleDateString() : "never"}</td>
              <td className="text-xs text-zinc-500">{k.lastUsedAt ? new Date(k.lastUsedAt).toLocaleString() : "never"}</td>
              <td>{k.status}</td>
              <td className="text-right">
                {k.status === "active" && (
                  <button type="button" disabled={busy} className={smallButtonClass} onClick={() => revoke(k.id)}>
                    Revoke
                  </button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
