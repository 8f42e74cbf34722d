"use client";
import { Button } from "@/components/ui/button";
import { controlClass, Field } from "@/components/ui/field";
import { FormError } from "@/components/ui/form-error";
import { Card } from "@/components/ui/page-header";
import { StatusBadge } from "@/components/ui/status-badge";
import { Table } from "@/components/ui/table";
import type { UserView } from "@/lib/access/types";
import { fetchJson } from "@/lib/http/client-fetch";
import { usePageAction } from "@/components/ui/use-page-action";

const ROLES = ["viewer", "evaluator", "admin"] as const;

export function UsersAdmin({ users, selfId }: { users: UserView[]; selfId: string | null }) {
  const { run, busy, error } = usePageAction();
  const patch = (id: string, body: object) => run(() => fetchJson(`/api/admin/users/${id}`, { method: "PATCH", json: body }));

  async function create(e: React.FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const form = e.currentTarget;
    const f = new FormData(form);
    const password = String(f.get("password") ?? "");
    const ok = await run(() =>
      fetchJson("/api/admin/users", { method: "POST", json: { email: f.get("email"), name: f.get("name") || undefined, password: password || null, role: f.get("role") } }),
    );
    if (ok) form.reset();
  }

  return (
    <div className="space-y-6">
      <Card>
        <form onSubmit={create} aria-label="Create user" className="flex flex-wrap items-end gap-3">
          <Field label="E-mail" className="w-full sm:w-56">
            <input name="email" type="email" required className={controlClass} />
          </Field>
          <Field label="Name" className="w-full sm:w-44">
            <input name="name" className={controlClass} />
          </Field>
          <Field label="Initial password (empty: single sign-on only)" className="w-full sm:w-64">
            <input name="password" type="password" minLength={10} autoComplete="new-password" className={controlClass} />
          </Field>
          <Field label="Role" className="w-full sm:w-32">
            <select name="role" defaultValue="viewer" className={controlClass}>
              {ROLES.map((r) => (
                <option key={r}>{r}</option>
              ))}
            </select>
          </Field>
          <Button type="submit" variant="primary" disabled={busy}>
            Create user
          </Button>
        </form>
      </Card>
      <FormError message={error} />
      <Table
        testId="users-table"
        empty="No users yet."
        columns={[{ header: "E-mail", sortable: true }, { header: "Role", sortable: true }, { header: "Status", sortable: true }, { header: "Last sign-in", sortable: true }, { header: "Actions", srOnly: true, align: "right" }]}
        rows={users.map((u) => ({
          key: u.id,
          attrs: { "data-email": u.email },
          sort: [u.email, u.role, u.disabled ? "disabled" : "active", u.lastLoginAt],
          cells: [
            <span key="e" className="break-all">
              {u.email}
              {u.name && <span className="ml-1 text-zinc-500">({u.name})</span>}
              {!u.hasPassword && <span className="ml-1 text-xs text-zinc-500">SSO</span>}
            </span>,
            <select key="r" aria-label={`Role of ${u.email}`} value={u.role} disabled={busy} onChange={(e) => patch(u.id, { role: e.target.value })} className={`${controlClass} w-auto`}>
              {ROLES.map((r) => (
                <option key={r}>{r}</option>
              ))}
            </select>,
            <StatusBadge key="s" status={u.disabled ? "disabled" : "active"} tone={u.disabled ? "danger" : "success"} />,
            <span key="l" className="whitespace-nowrap text-zinc-500">{u.lastLoginAt ? new Date(u.lastLoginAt).toLocaleString() : "never"}</span>,
            u.id !== selfId ? (
              <Button key="a" size="sm" disabled={busy} onClick={() => patch(u.id, { disabled: !u.disabled })}>
                {u.disabled ? "Enable" : "Disable"}
              </Button>
            ) : null,
          ],
        }))}
      />
    </div>
  );
}
