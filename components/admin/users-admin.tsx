"use client";
import { useRouter } from "next/navigation";
import { useState } from "react";
import { adminApi, buttonClass, inputClass, smallButtonClass } from "./api";

export interface UserRow {
  id: string;
  email: string;
  name: string;
  role: "viewer" | "evaluator" | "admin";
  disabled: boolean;
  hasPassword: boolean;
  lastLoginAt: string | null;
}

const ROLES = ["viewer", "evaluator", "admin"] as const;

export function UsersAdmin({ users, selfId }: { users: UserRow[]; selfId: string | null }) {
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

  async function create(e: React.FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const form = e.currentTarget;
    const f = new FormData(form);
    const password = String(f.get("password") ?? "");
    await run(async () => {
      await adminApi("POST", "/api/admin/users", { email: f.get("email"), name: f.get("name") || undefined, password: password || null, role: f.get("role") });
      form.reset();
    });
  }

  return (
    <div className="space-y-6">
      <form onSubmit={create} aria-label="Create user" className="flex flex-wrap items-end gap-2 rounded-lg border border-zinc-200 p-3 dark:border-zinc-800">
        <label className="text-sm">
          <span className="block text-xs text-zinc-500">E-mail</span>
          <input name="email" type="email" required className={inputClass} />
        </label>
        <label className="text-sm">
          <span className="block text-xs text-zinc-500">Name</span>
          <input name="name" className={inputClass} />
        </label>
        <label className="text-sm">
          <span className="block text-xs text-zinc-500">Initial password (empty: single sign-on only)</span>
          <input name="password" type="password" minLength={10} autoComplete="new-password" className={inputClass} />
        </label>
        <label className="text-sm">
          <span className="block text-xs text-zinc-500">Role</span>
          <select name="role" defaultValue="viewer" className={inputClass}>
            {ROLES.map((r) => (
              <option key={r}>{r}</option>
            ))}
          </select>
        </label>
        <button type="submit" disabled={busy} className={buttonClass}>
          Create user
        </button>
      </form>
      {error && (
        <p role="alert" className="text-sm text-red-600">
          {error}
        </p>
      )}
      <table className="w-full text-left text-sm" data-testid="users-table">
        <thead className="text-xs uppercase text-zinc-500">
          <tr>
            <th className="py-1">E-mail</th>
            <th>Role</th>
            <th>Status</th>
            <th>Last sign-in</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {users.map((u) => (
            <tr key={u.id} className="border-t border-zinc-200 dark:border-zinc-800" data-email={u.email}>
              <td className="py-1.5">
                {u.email}
                {u.name && <span className="ml-1 text-zinc-500">({u.name})</span>}
                {!u.hasPassword && <span className="ml-1 text-xs text-zinc-500">SSO</span>}
              </td>
              <td>
                <select
                  aria-label={`Role of ${u.email}`}
                  value={u.role}
                  disabled={busy}
                  onChange={(e) => run(() => adminApi("PATCH", `/api/admin/users/${u.id}`, { role: e.target.value }))}
                  className={inputClass}
                >
                  {ROLES.map((r) => (
                    <option key={r}>{r}</option>
                  ))}
                </select>
              </td>
              <td>{u.disabled ? <span className="text-red-600">disabled</span> : "active"}</td>
              <td className="text-zinc-500">{u.lastLoginAt ? new Date(u.lastLoginAt).toLocaleString() : "never"}</td>
              <td className="text-right">
                {u.id !== selfId && (
                  <button
                    type="button"
                    disabled={busy}
                    className={smallButtonClass}
                    onClick={() => run(() => adminApi("PATCH", `/api/admin/users/${u.id}`, { disabled: !u.disabled }))}
                  >
                    {u.disabled ? "Enable" : "Disable"}
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
