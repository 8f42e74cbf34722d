"use client";
// Notification targets: add a Discord webhook, a signed generic webhook or an e-mail target, choose its
// events, switch it off or remove it; the latest deliveries with their outcome.
import { useState } from "react";
import { Button } from "@/components/ui/button";
import { ConfirmDialog } from "@/components/ui/confirm-dialog";
import { CheckField, controlClass, Field } from "@/components/ui/field";
import { FormError } from "@/components/ui/form-error";
import { Card } from "@/components/ui/page-header";
import { StatusBadge } from "@/components/ui/status-badge";
import { Table } from "@/components/ui/table";
import { fetchJson } from "@/lib/http/client-fetch";
import type { CreatedTargetView, NotificationDeliveryView, NotificationTargetView } from "@/lib/notify/types";
import { usePageAction } from "@/components/ui/use-page-action";

type Kind = NotificationTargetView["kind"];
const when = (iso: string | null) => (iso ? iso.slice(0, 16).replace("T", " ") + " UTC" : "—");

export function NotificationsAdmin({
  targets,
  deliveries,
  eventKinds,
}: {
  targets: NotificationTargetView[];
  deliveries: NotificationDeliveryView[];
  eventKinds: ReadonlyArray<{ kind: string; label: string }>;
}) {
  const { run, busy, error } = usePageAction();
  const [kind, setKind] = useState<Kind>("discord");
  const [secret, setSecret] = useState<string | null>(null);
  const [removing, setRemoving] = useState<NotificationTargetView | null>(null);
  const names = new Map(targets.map((t) => [t.id, t.name]));

  async function create(form: HTMLFormElement) {
    const f = new FormData(form);
    const str = (k: string) => String(f.get(k) ?? "").trim();
    const events = f.getAll("events").map(String);
    const base = { kind, name: str("name"), events };
    const body =
      kind === "email"
        ? {
            ...base,
            host: str("host"),
            port: Number(str("port") || 587),
            secure: f.get("secure") === "on",
            ...(str("username") ? { username: str("username") } : {}),
            ...(str("password") ? { password: str("password") } : {}),
            from: str("from"),
            to: str("to").split(/[\s,;]+/).filter(Boolean),
          }
        : { ...base, url: str("url") };
    const ok = await run(async () => {
      const created = await fetchJson<CreatedTargetView>("/api/admin/notifications", { method: "POST", json: body });
      setSecret(created.signingSecret ?? null);
    });
    if (ok) form.reset();
  }

  return (
    <div className="space-y-6">
      <Card>
        <form
          aria-label="Add a notification target"
          className="grid gap-3 sm:grid-cols-2"
          onSubmit={(e) => {
            e.preventDefault();
            void create(e.currentTarget);
          }}
        >
          <Field label="Kind">
            <select name="kind" value={kind} onChange={(e) => setKind(e.target.value as Kind)} className={controlClass}>
              <option value="discord">Discord webhook</option>
              <option value="webhook">Generic webhook (HMAC-signed)</option>
              <option value="email">E-mail (SMTP)</option>
            </select>
          </Field>
          <Field label="Name">
            <input name="name" required maxLength={100} className={controlClass} placeholder="Ops channel" />
          </Field>
          {kind !== "email" ? (
            <Field label="URL" hint="Stored encrypted; pages show only its host." className="sm:col-span-2">
              <input name="url" type="url" required className={controlClass} placeholder={kind === "discord" ? "https://discord.com/api/webhooks/…" : "https://hooks.example.internal/sot"} />
            </Field>
          ) : (
            <>
              <Field label="SMTP host">
                <input name="host" required className={controlClass} placeholder="smtp.example.internal" />
              </Field>
              <Field label="Port">
                <input name="port" type="number" min={1} max={65535} defaultValue={587} className={controlClass} />
              </Field>
              <Field label="User name (optional)">
                <input name="username" autoComplete="off" className={controlClass} />
              </Field>
              <Field label="Password (optional, stored encrypted)">
                <input name="password" type="password" autoComplete="new-password" className={controlClass} />
              </Field>
              <Field label="From">
                <input name="from" type="email" required className={controlClass} placeholder="sot@example.internal" />
              </Field>
              <Field label="To (comma-separated)">
                <input name="to" required className={controlClass} placeholder="editors@example.internal" />
              </Field>
              <CheckField>
                <input type="checkbox" name="secure" /> TLS from the first byte (port 465)
              </CheckField>
            </>
          )}
          <fieldset className="space-y-1 sm:col-span-2">
            <legend className="text-xs font-medium text-zinc-600 dark:text-zinc-400">Events (none ticked: every event)</legend>
            <div className="flex flex-wrap gap-x-4 gap-y-1">
              {eventKinds.map((e) => (
                <CheckField key={e.kind}>
                  <input type="checkbox" name="events" value={e.kind} /> {e.label}
                </CheckField>
              ))}
            </div>
          </fieldset>
          <div className="sm:col-span-2">
            <Button type="submit" variant="primary" disabled={busy}>
              Add target
            </Button>
          </div>
        </form>
        <FormError message={error} className="mt-2" />
        {secret && (
          <div role="status" className="mt-3 space-y-1 rounded-md border border-amber-300 bg-amber-50 p-2 text-sm dark:border-amber-800 dark:bg-amber-950" data-testid="signing-secret">
            <p>The webhook&apos;s signing secret, shown this once: give it to the receiver to check the X-SOT-Signature header.</p>
            <p className="font-mono break-all">{secret}</p>
          </div>
        )}
      </Card>

      <Table
        testId="notification-targets"
        empty="No notification targets yet."
        columns={[{ header: "Name", sortable: true }, { header: "Kind", sortable: true }, { header: "Destination" }, { header: "Events" }, { header: "Last delivery" }, { header: "On" }, { header: "Remove", srOnly: true }]}
        rows={targets.map((t) => ({
          key: t.id,
          attrs: { "data-target-id": t.id },
          sort: [t.name, t.kind],
          cells: [
            t.name,
            t.kind,
            <span key="d" className="break-all">
              {t.destination}
            </span>,
            t.events.length ? t.events.join(", ") : "every event",
            t.lastDelivery ? (
              <span key="l" title={t.lastDelivery.error ?? undefined}>
                <StatusBadge status={t.lastDelivery.status} /> {when(t.lastDelivery.at)}
              </span>
            ) : (
              "—"
            ),
            <input
              key="e"
              type="checkbox"
              aria-label={`${t.name} enabled`}
              checked={t.enabled}
              disabled={busy}
              onChange={(e) => run(() => fetchJson(`/api/admin/notifications/${t.id}`, { method: "PATCH", json: { enabled: e.target.checked } }))}
            />,
            <Button key="r" size="sm" variant="ghost" disabled={busy} onClick={() => setRemoving(t)}>
              Remove
            </Button>,
          ],
        }))}
      />
      <ConfirmDialog
        open={removing !== null}
        title={`Remove ${removing?.name ?? "target"}?`}
        confirmLabel="Remove"
        onCancel={() => setRemoving(null)}
        onConfirm={() => {
          const t = removing!;
          setRemoving(null);
          void run(() => fetchJson(`/api/admin/notifications/${t.id}`, { method: "DELETE" }));
        }}
      >
        Its delivery history goes with it.
      </ConfirmDialog>

      <section aria-labelledby="deliveries-title" className="space-y-2">
        <h2 id="deliveries-title" className="text-lg font-semibold">
          Latest deliveries
        </h2>
        <Table
          testId="notification-deliveries"
          empty="Nothing sent yet."
          columns={[{ header: "Raised", sortable: true }, { header: "Target" }, { header: "Event", sortable: true }, { header: "Status", sortable: true }, { header: "Attempts", align: "right" }, { header: "Error" }]}
          rows={deliveries.map((d) => ({
            key: d.id,
            sort: [d.createdAt, null, d.eventKind, d.status],
            cells: [when(d.createdAt), names.get(d.targetId) ?? "—", d.eventKind, <StatusBadge key="s" status={d.status} />, String(d.attempts), d.error ?? ""],
          }))}
        />
      </section>
    </div>
  );
}
