"use client";
// Agents, their tokens, cubbies (names, sizes, key versions, grants — never contents) and the audit
// trail of KES. Everything that cannot be undone asks first.
import { useRouter } from "next/navigation";
import { useEffect, useState } from "react";
import { asPendingApproval, WaitingForApproval } from "@/components/ui/approval-notice";
import { Button } from "@/components/ui/button";
import { ConfirmDialog } from "@/components/ui/confirm-dialog";
import { CheckField, controlClass, Field } from "@/components/ui/field";
import { FormError } from "@/components/ui/form-error";
import { Card } from "@/components/ui/page-header";
import { StatusBadge } from "@/components/ui/status-badge";
import { Table } from "@/components/ui/table";
import type { AgentTokenView, AgentView } from "@/lib/agents/types";
import type { PendingApprovalAnswer } from "@/lib/approvals/types";
import type { AgentAuditEntry, CubbyAdminView, CubbyRewrapView } from "@/lib/cubbies/types";
import { fetchJson } from "@/lib/http/client-fetch";
import { usePageAction } from "@/components/ui/use-page-action";

const OPERATIONS = ["read", "write", "grant"] as const;
type KeyAction = "rotate" | "rewrap" | "retire" | "shred";

/** What each key action does, said before it is done. */
const KEY_ACTIONS: Record<KeyAction, { label: string; confirm: string; text: string; danger: boolean }> = {
  rotate: {
    label: "Rotate",
    confirm: "Rotate key",
    text: "A new key version is added and promoted: new values use it, existing values stay readable. Rewrap them afterwards.",
    danger: false,
  },
  rewrap: {
    label: "Rewrap",
    confirm: "Rewrap values",
    text: "Every value's data key is rewrapped by the current version inside KES (no value is decrypted here). It runs in the background; its progress shows on the cubby.",
    danger: false,
  },
  retire: {
    label: "Retire old versions",
    confirm: "Retire old versions",
    text: "Key versions below the current one are refused from now on: any copy of a value still under them (an old backup) no longer opens.",
    danger: true,
  },
  shred: {
    label: "Shred",
    confirm: "Shred cubby key",
    text: "The cubby's key material is destroyed: its values — and every backup holding them — can never be decrypted again. This cannot be undone, so another admin must approve it first.",
    danger: true,
  },
};

const when = (iso: string | null) => (iso ? new Date(iso).toLocaleString() : "—");
const kib = (n: number) => (n < 1024 ? `${n} B` : `${(n / 1024).toFixed(1)} KiB`);

type Pending =
  | { kind: "key"; cubby: string; action: KeyAction }
  | { kind: "revoke"; cubby: string; agent: string }
  | { kind: "token"; token: AgentTokenView }
  | { kind: "disable"; agent: AgentView };

/** "3 of 10", or "no limit" when the token has none (calls are counted only against a limit). */
const counted = (n: number, max: number | null) => (max === null ? "no limit" : `${n} of ${max}`);

/** A cubby's newest rewrap job; while it runs, the page refreshes itself to follow it. */
function RewrapProgress({ rewrap }: { rewrap: CubbyRewrapView }) {
  const router = useRouter();
  const live = rewrap.status === "queued" || rewrap.status === "running";
  useEffect(() => {
    if (!live) return;
    const t = setInterval(() => router.refresh(), 2000);
    return () => clearInterval(t);
  }, [live, router]);
  return (
    <p className="text-xs text-zinc-600" data-testid="rewrap-progress" data-status={rewrap.status}>
      Rewrap {rewrap.status}
      {rewrap.toVersion !== null && <> to key version {rewrap.toVersion}</>}: {rewrap.itemsDone} of {rewrap.itemsTotal} values checked, {rewrap.rewrapped} rewrapped
      {rewrap.finishedAt && <> · ended {when(rewrap.finishedAt)}</>}
      {rewrap.error && <span className="text-red-600"> · {rewrap.error}</span>}
    </p>
  );
}

export function AgentsAdmin({ agents, tokens, cubbies, audit }: { agents: AgentView[]; tokens: AgentTokenView[]; cubbies: CubbyAdminView[]; audit: AgentAuditEntry[] }) {
  const { run, busy, error } = usePageAction();
  const [shown, setShown] = useState<{ name: string; credential: string } | null>(null);
  const [pending, setPending] = useState<Pending | null>(null);
  // Granting a cubby to an agent new to it, and shredding a cubby key, wait for another admin's approval.
  const [waiting, setWaiting] = useState<PendingApprovalAnswer | null>(null);

  async function createAgent(e: React.FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const form = e.currentTarget;
    const f = new FormData(form);
    await run(async () => {
      const res = await fetchJson<{ agent: AgentView; credential: string }>("/api/agents", {
        method: "POST",
        json: { name: f.get("name"), description: f.get("description") || null },
      });
      setShown({ name: res.agent.name, credential: res.credential });
      form.reset();
    });
  }

  async function grant(e: React.FormEvent<HTMLFormElement>, cubby: string) {
    e.preventDefault();
    const form = e.currentTarget;
    const f = new FormData(form);
    const hours = Number(f.get("hours") || 0);
    await run(async () => {
      const res = await fetchJson(`/api/admin/cubbies/${encodeURIComponent(cubby)}/grants`, {
        method: "POST",
        json: { agent: f.get("agent"), operations: f.getAll("operations"), expiresAt: hours > 0 ? new Date(Date.now() + hours * 3_600_000).toISOString() : null },
      });
      setWaiting(asPendingApproval(res));
      form.reset();
    });
  }

  function confirmPending() {
    const p = pending!;
    setPending(null);
    if (p.kind === "key") void run(async () => setWaiting(asPendingApproval(await fetchJson(`/api/admin/cubbies/${encodeURIComponent(p.cubby)}`, { method: "POST", json: { action: p.action } }))));
    else if (p.kind === "revoke") void run(() => fetchJson(`/api/admin/cubbies/${encodeURIComponent(p.cubby)}/grants/${encodeURIComponent(p.agent)}`, { method: "DELETE" }));
    else if (p.kind === "token") void run(() => fetchJson(`/api/agents/tokens/${p.token.id}`, { method: "DELETE" }));
    else void run(() => fetchJson(`/api/agents/${encodeURIComponent(p.agent.name)}`, { method: "PATCH", json: { disabled: p.agent.status === "active" } }));
  }

  const dialog: { title: string; confirm: string; text: string; danger: boolean } | null = !pending
    ? null
    : pending.kind === "key"
      ? { title: `${KEY_ACTIONS[pending.action].label}: cubby “${pending.cubby}”?`, confirm: KEY_ACTIONS[pending.action].confirm, text: KEY_ACTIONS[pending.action].text, danger: KEY_ACTIONS[pending.action].danger }
      : pending.kind === "revoke"
        ? { title: `Revoke ${pending.agent}'s access to “${pending.cubby}”?`, confirm: "Revoke access", text: "Its very next call to the cubby is refused.", danger: true }
        : pending.kind === "token"
          ? { title: `Revoke this token of ${pending.token.agent}?`, confirm: "Revoke token", text: "Its next call is refused, and so are the calls of every token delegated from it.", danger: true }
          : pending.agent.status === "active"
            ? { title: `Disable agent “${pending.agent.name}”?`, confirm: "Disable agent", text: "Its credential and every token it holds or delegated are refused from the next call on.", danger: true }
            : { title: `Enable agent “${pending.agent.name}”?`, confirm: "Enable agent", text: "Its credential works again; revoked tokens stay revoked.", danger: false };

  return (
    <div className="space-y-6">
      <FormError message={error} testId="agents-error" />
      {waiting && <WaitingForApproval answer={waiting} linkToQueue />}

      <section className="space-y-3" aria-labelledby="agents-h">
        <h2 id="agents-h" className="text-lg font-semibold">Agents</h2>
        <Card>
          <form onSubmit={createAgent} aria-label="Create agent" className="flex flex-wrap items-end gap-3">
            <Field label="Name" hint="lower-case letters, digits, . _ -" className="w-full sm:w-56">
              <input name="name" required maxLength={64} pattern="[a-z0-9][a-z0-9._\-]{0,63}" className={controlClass} />
            </Field>
            <Field label="Description" className="w-full sm:w-72">
              <input name="description" maxLength={500} className={controlClass} />
            </Field>
            <Button type="submit" variant="primary" disabled={busy}>
              Create agent
            </Button>
          </form>
        </Card>
        {shown && (
          <div role="status" className="rounded-lg border border-amber-400 bg-amber-50 p-3 text-sm dark:bg-amber-950" data-testid="new-agent">
            <p className="font-medium">Credential of agent “{shown.name}” — copy it now: it is shown only once and stored only as a hash.</p>
            <code className="mt-1 block font-mono text-xs break-all" data-testid="new-agent-credential">
              {shown.credential}
            </code>
            <Button size="sm" className="mt-2" onClick={() => setShown(null)}>
              I have copied it
            </Button>
          </div>
        )}
        <Table
          testId="agents-table"
          empty="No agents yet."
          columns={[{ header: "Name", sortable: true }, { header: "Owner", sortable: true }, { header: "Live tokens", sortable: true, align: "right" }, { header: "Last used", sortable: true }, { header: "Status", sortable: true }, { header: "Actions", srOnly: true, align: "right" }]}
          rows={agents.map((a) => ({
            key: a.id,
            attrs: { "data-agent": a.name },
            sort: [a.name, a.owner, a.liveTokens, a.lastUsedAt, a.status],
            cells: [
              <span key="n">
                <code className="font-mono text-xs">{a.name}</code>
                {a.description && <span className="block text-xs text-zinc-500">{a.description}</span>}
              </span>,
              <span key="o" className="text-xs">{a.owner ?? "—"}</span>,
              a.liveTokens,
              <span key="u" className="text-xs whitespace-nowrap text-zinc-500">{when(a.lastUsedAt)}</span>,
              <StatusBadge key="s" status={a.status} tone={a.status === "active" ? "success" : "muted"} />,
              <Button key="x" size="sm" variant={a.status === "active" ? "danger" : "secondary"} disabled={busy} onClick={() => setPending({ kind: "disable", agent: a })}>
                {a.status === "active" ? "Disable" : "Enable"}
              </Button>,
            ],
          }))}
        />
      </section>

      <section className="space-y-3" aria-labelledby="tokens-h">
        <h2 id="tokens-h" className="text-lg font-semibold">Recent tokens</h2>
        <Table
          testId="tokens-table"
          empty="No tokens yet."
          columns={[
            { header: "Agent", sortable: true },
            { header: "Delegated by", sortable: true },
            { header: "Cubby" },
            { header: "Operations" },
            { header: "Calls", sortable: true, align: "right" },
            { header: "Refused or failed", sortable: true, align: "right" },
            { header: "Expires", sortable: true },
            { header: "Status", sortable: true },
            { header: "Actions", srOnly: true, align: "right" },
          ]}
          rows={tokens.map((t) => ({
            key: t.id,
            attrs: { "data-token-id": t.id, "data-status": t.status },
            sort: [t.agent, t.delegatedBy, null, null, t.calls, t.failures, t.expiresAt, t.status],
            cells: [
              <code key="a" className="font-mono text-xs">{t.agent}</code>,
              <span key="d" className="text-xs">{t.delegatedBy ?? "its credential"}</span>,
              <span key="c" className="text-xs">{t.cubby ?? "any it reaches"}</span>,
              t.operations.join(", "),
              <span key="n" className="text-xs whitespace-nowrap">{counted(t.calls, t.limits.maxCalls)}</span>,
              <span key="f" className="text-xs whitespace-nowrap">{counted(t.failures, t.limits.maxFailures)}</span>,
              <span key="e" className="text-xs whitespace-nowrap text-zinc-500">{when(t.expiresAt)}</span>,
              <StatusBadge key="s" status={t.status} tone={t.status === "active" ? "success" : t.status === "stopped" ? "warning" : "muted"} />,
              <span key="r" className="inline-flex gap-2">
                {(t.status === "stopped" || t.status === "expired") && (
                  // Counts start again from zero, with the same limits; an expired token gets a new expiry.
                  <Button
                    size="sm"
                    disabled={busy}
                    onClick={() =>
                      void run(() => fetchJson(`/api/agents/tokens/${t.id}/resume`, { method: "POST", json: t.status === "expired" ? { ttlSeconds: 15 * 60 } : {} }))
                    }
                  >
                    Resume
                  </Button>
                )}
                {(t.status === "active" || t.status === "stopped") && (
                  <Button size="sm" variant="danger" disabled={busy} onClick={() => setPending({ kind: "token", token: t })}>
                    Revoke
                  </Button>
                )}
              </span>,
            ],
          }))}
        />
      </section>

      <section className="space-y-3" aria-labelledby="cubbies-h">
        <h2 id="cubbies-h" className="text-lg font-semibold">Cubbies</h2>
        {cubbies.length === 0 && <p className="text-sm text-zinc-500">No cubbies yet: agents create them (POST /api/cubbies).</p>}
        {cubbies.map((c) => {
          const active = c.grants.filter((g) => g.active);
          const shredded = c.key.status === "shredded";
          return (
            <Card key={c.name} data-cubby={c.name} className="space-y-3">
              <div className="flex flex-wrap items-start justify-between gap-2">
                <div className="min-w-0">
                  <h3 className="font-mono text-sm font-semibold break-all">{c.name}</h3>
                  <p className="text-xs text-zinc-500" data-testid="cubby-facts">
                    {c.items} value{c.items === 1 ? "" : "s"}, {kib(c.bytes)} · key version {c.key.currentVersion} (versions {c.key.versions.join(", ")}; readable from {c.key.minDecryptionVersion})
                    {Object.keys(c.itemsByKeyVersion).length > 0 && <> · values per version: {Object.entries(c.itemsByKeyVersion).map(([v, n]) => `v${v}: ${n}`).join(", ")}</>}
                    {" "}· created by {c.createdBy}
                  </p>
                </div>
                <StatusBadge status={c.key.status} tone={c.key.status === "active" ? "success" : c.key.status === "shredded" ? "danger" : "warning"} />
              </div>
              {c.rewrap && <RewrapProgress rewrap={c.rewrap} />}
              {!shredded && (
                <div className="flex flex-wrap gap-2">
                  {(Object.keys(KEY_ACTIONS) as KeyAction[]).map((a) => (
                    <Button key={a} size="sm" variant={KEY_ACTIONS[a].danger ? "danger" : "secondary"} disabled={busy} onClick={() => setPending({ kind: "key", cubby: c.name, action: a })}>
                      {KEY_ACTIONS[a].label}
                    </Button>
                  ))}
                </div>
              )}
              <Table
                testId={`grants-${c.name}`}
                empty="No live grants."
                columns={[{ header: "Agent", sortable: true }, { header: "Operations" }, { header: "Expires", sortable: true }, { header: "Granted by" }, { header: "Actions", srOnly: true, align: "right" }]}
                rows={active.map((g) => ({
                  key: g.id,
                  sort: [g.agent, null, g.expiresAt, null],
                  cells: [
                    <code key="a" className="font-mono text-xs">{g.agent}</code>,
                    g.operations.join(", "),
                    <span key="e" className="text-xs whitespace-nowrap text-zinc-500">{g.expiresAt ? when(g.expiresAt) : "never"}</span>,
                    <span key="b" className="text-xs">{g.createdBy}</span>,
                    <Button key="r" size="sm" variant="danger" disabled={busy} onClick={() => setPending({ kind: "revoke", cubby: c.name, agent: g.agent })}>
                      Revoke
                    </Button>,
                  ],
                }))}
              />
              {!shredded && (
                <form onSubmit={(e) => void grant(e, c.name)} aria-label={`Grant access to ${c.name}`} className="flex flex-wrap items-end gap-3">
                  <Field label="Agent" className="w-full sm:w-48">
                    <select name="agent" required className={controlClass}>
                      {agents.filter((a) => a.status === "active").map((a) => (
                        <option key={a.id} value={a.name}>
                          {a.name}
                        </option>
                      ))}
                    </select>
                  </Field>
                  <fieldset className="text-sm">
                    <legend className="text-xs font-medium text-zinc-600 dark:text-zinc-400">Operations</legend>
                    <div className="flex flex-wrap gap-3 py-1.5">
                      {OPERATIONS.map((o) => (
                        <CheckField key={o}>
                          <input type="checkbox" name="operations" value={o} defaultChecked={o === "read"} /> {o}
                        </CheckField>
                      ))}
                    </div>
                  </fieldset>
                  <Field label="Expires after (hours, empty: never)" className="w-full sm:w-56">
                    <input name="hours" type="number" min={1} max={87600} className={controlClass} />
                  </Field>
                  <Button type="submit" disabled={busy}>
                    Grant
                  </Button>
                </form>
              )}
            </Card>
          );
        })}
      </section>

      <section className="space-y-3" aria-labelledby="audit-h">
        <h2 id="audit-h" className="text-lg font-semibold">Audit trail</h2>
        <p className="text-sm text-zinc-500">Every token, grant, revoke, data-key call and key change, allowed or refused (newest 50; the audit log has all).</p>
        <Table
          testId="kes-audit"
          empty="Nothing yet."
          columns={[{ header: "When", sortable: true }, { header: "Who", sortable: true }, { header: "What", sortable: true }, { header: "Target" }, { header: "Outcome", sortable: true }]}
          rows={audit.map((e) => ({
            key: e.id,
            sort: [e.at, e.actor, e.action, null, e.allowed === false ? "refused" : "allowed"],
            cells: [
              <span key="t" className="text-xs whitespace-nowrap text-zinc-500">{when(e.at)}</span>,
              <span key="w" className="text-xs break-all">{e.actor}</span>,
              <code key="a" className="font-mono text-xs">{e.action}</code>,
              <span key="g" className="text-xs break-all">{e.target}</span>,
              e.allowed === false ? (
                <span key="o" className="text-xs">
                  <StatusBadge status="refused" tone="danger" /> {e.reason}
                </span>
              ) : (
                <StatusBadge key="o" status="allowed" tone="success" />
              ),
            ],
          }))}
        />
      </section>

      <ConfirmDialog open={dialog !== null} title={dialog?.title ?? ""} confirmLabel={dialog?.confirm ?? "OK"} danger={dialog?.danger ?? true} onCancel={() => setPending(null)} onConfirm={confirmPending}>
        {dialog?.text}
      </ConfirmDialog>
    </div>
  );
}
