"use client";
import { useRouter } from "next/navigation";
import { useEffect, useState } from "react";
import { DeleteWithApproval } from "@/components/approvals/delete-with-approval";
import { Button } from "@/components/ui/button";
import { controlClass, Field } from "@/components/ui/field";
import { CollectionField } from "@/components/ui/collection-select";
import { FormError, FormNotice } from "@/components/ui/form-error";
import { StatusBadge } from "@/components/ui/status-badge";
import { Table } from "@/components/ui/table";
import type { CollectionOption } from "@/lib/access/types";
import type { ImportJobSummary, ImportJobView, SourceView } from "@/lib/ingest/types";
import { errorMessage, fetchJson } from "@/lib/http/client-fetch";

/** The page gives a source's latest job; polling GET /api/import/{id} adds its failures and warnings. */
type ShownJob = ImportJobSummary & Partial<Pick<ImportJobView, "failures" | "warningItems">>;

const active = (j: ShownJob | null) => !!j && (j.status === "queued" || j.status === "running");

// What a job's kind means for the source: only a full sync removes pages that are gone.
const KIND_LABELS: Record<string, string> = {
  full: "full sync",
  reconcile: "full sync (reconcile)",
  s3_sync: "full sync",
  partial: "partial import: adds and updates only",
  pages: "partial import: adds and updates only",
};

const time = (iso: string) => new Date(iso).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });

/** Import progress of one job, polled while it runs. */
function JobProgress({ job }: { job: ShownJob }) {
  const pct = job.found > 0 ? Math.round(((job.done + job.failed) / job.found) * 100) : 0;
  return (
    <div className="space-y-1" data-testid="job-progress">
      <div className="flex flex-wrap items-center gap-x-3 gap-y-1 text-xs text-zinc-600 dark:text-zinc-400">
        <StatusBadge status={job.status} testId="job-status" />
        <span data-testid="job-kind">{KIND_LABELS[job.kind] ?? job.kind}</span>
        <span>{job.phase}</span>
        <span data-testid="job-counts">
          {job.done} of {job.found} pages done · {job.failed} failed · {job.unchanged} unchanged · {job.removed} removed
          {job.warnings ? ` · ${job.warnings} with warnings` : ""}
        </span>
      </div>
      <div className="h-1.5 w-full max-w-64 rounded bg-zinc-200 dark:bg-zinc-800" role="progressbar" aria-valuenow={pct} aria-valuemin={0} aria-valuemax={100}>
        <div className="h-1.5 rounded bg-sky-600" style={{ width: `${pct}%` }} />
      </div>
      {job.error && <p className="text-xs break-words text-red-700 dark:text-red-400">{job.error}</p>}
      {job.failures && job.failures.length > 0 && (
        <ul className="text-xs break-words text-red-700 dark:text-red-400" data-testid="job-failures">
          {job.failures.map((f) => (
            <li key={f.externalId}>
              {f.title ?? f.externalId}: {f.error}
            </li>
          ))}
        </ul>
      )}
      {job.warningItems && job.warningItems.length > 0 && (
        <ul className="text-xs break-words text-amber-700 dark:text-amber-500" data-testid="job-warnings">
          {job.warningItems.map((w) => (
            <li key={w.externalId}>
              {w.title ?? w.externalId}: {w.warning}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

/** The Notion webhook's state and the admin's two actions: await a handshake, show the token. */
function NotionWebhook({ source, onError }: { source: SourceView; onError: (message: string | null) => void }) {
  const router = useRouter();
  const [awaitingUntil, setAwaitingUntil] = useState<string | null>(source.webhook?.awaitingHandshakeUntil ?? null);
  const [token, setToken] = useState<string | null>(null);
  const [url, setUrl] = useState(`/api/notion/webhook?source=${source.id}`);
  useEffect(() => setAwaitingUntil(source.webhook?.awaitingHandshakeUntil ?? null), [source.webhook?.awaitingHandshakeUntil]);

  async function awaitHandshake() {
    onError(null);
    try {
      const body = await fetchJson<{ awaitingHandshakeUntil: string; webhookUrl: string }>(`/api/sources/${source.id}/webhook-token`, { method: "POST" });
      setAwaitingUntil(body.awaitingHandshakeUntil);
      setUrl(body.webhookUrl);
    } catch (err) {
      onError(errorMessage(err));
    }
  }

  async function showToken() {
    onError(null);
    try {
      const body = await fetchJson<{ verificationToken: string | null; webhookUrl: string; awaitingHandshakeUntil: string | null }>(`/api/sources/${source.id}/webhook-token`);
      setAwaitingUntil(body.awaitingHandshakeUntil);
      setUrl(body.webhookUrl);
      setToken(body.verificationToken ?? "");
      if (body.verificationToken) router.refresh();
    } catch (err) {
      onError(errorMessage(err));
    }
  }

  const verifiedAt = source.webhook?.verifiedAt;
  return (
    <div className="space-y-1 text-xs" data-testid="webhook-state">
      <p className="break-words text-zinc-600 dark:text-zinc-400">
        Webhook:{" "}
        {awaitingUntil
          ? `awaiting Notion's handshake until ${time(awaitingUntil)}: subscribe Notion to ${url} now`
          : verifiedAt
            ? `verified ${new Date(verifiedAt).toLocaleString()}`
            : "no subscription verified"}
      </p>
      {token !== null && (
        <p className="break-all font-mono" data-testid="webhook-token">
          {token ? `${token}  (paste into Notion to verify ${url})` : `No handshake received yet. Await one, then subscribe Notion to ${url}.`}
        </p>
      )}
      <div className="flex flex-wrap gap-2">
        <Button size="sm" onClick={awaitHandshake}>
          Await webhook handshake
        </Button>
        <Button size="sm" onClick={showToken}>
          Webhook token
        </Button>
      </div>
    </div>
  );
}

/** A source's latest import, polled while it runs; starting an import replaces it. */
function useSourceJob(source: SourceView) {
  const router = useRouter();
  const [job, setJob] = useState<ShownJob | null>(source.latestJob);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => setJob(source.latestJob), [source.latestJob]);
  useEffect(() => {
    if (!job || !active(job)) return;
    const t = setInterval(async () => {
      const next = await fetchJson<{ job: ImportJobView }>(`/api/import/${job.id}`).then((b) => b.job, () => null);
      if (!next) return;
      setJob(next);
      if (!active(next)) router.refresh();
    }, 1000);
    return () => clearInterval(t);
  }, [job, router]);

  async function start() {
    setError(null);
    try {
      setJob((await fetchJson<{ job: ImportJobView }>("/api/import", { method: "POST", json: { sourceId: source.id } })).job);
    } catch (err) {
      setError(errorMessage(err));
    }
  }
  return { job, error, setError, start };
}

/** The cells of one source's row: its latest import with live progress, the webhook (admins), Import now. */
function SourceImport({ source, isAdmin }: { source: SourceView; isAdmin: boolean }) {
  const { job, error, setError, start } = useSourceJob(source);
  const importable = source.kind === "notion" || source.kind === "s3";
  return (
    <div className="min-w-56 space-y-2">
      {job ? <JobProgress job={job} /> : <span className="text-xs text-zinc-500">never imported</span>}
      {source.syncState && <SyncState sync={source.syncState} />}
      {importable && (
        <Button size="sm" variant="primary" onClick={start} disabled={active(job)}>
          {active(job) ? "Importing…" : "Import now"}
        </Button>
      )}
      <FormError message={error} className="text-xs" />
      {isAdmin && source.kind === "notion" && <NotionWebhook source={source} onError={setError} />}
      {isAdmin && <DeleteWithApproval url={`/api/sources/${source.id}`} what={`source ${source.name}`} testId="delete-source" />}
    </div>
  );
}

/** What the Notion sync agent keeps in its cubby about this source (never a token or page content). */
function SyncState({ sync }: { sync: NonNullable<SourceView["syncState"]> }) {
  if (sync.unreadable) {
    return (
      <p className="text-xs text-amber-700" data-testid="sync-state" data-state="unreadable">
        Sync state unreadable: {sync.unreadable}
      </p>
    );
  }
  if (!sync.state) return null;
  const s = sync.state;
  return (
    <p className="text-xs text-zinc-600" data-testid="sync-state" data-state="ok">
      Last successful sync {new Date(s.lastSuccessfulSyncAt).toLocaleString()} ({s.jobKind}): {s.pageCount} pages, {s.pagesSeen} seen,{" "}
      {s.pagesChanged} changed, {s.pagesRemoved} removed{s.highWaterMark ? `; newest Notion edit ${new Date(s.highWaterMark).toLocaleString()}` : ""}
    </p>
  );
}

function UploadForm({ collections }: { collections: CollectionOption[] }) {
  const router = useRouter();
  const [message, setMessage] = useState<{ ok: boolean; text: string } | null>(null);
  const [busy, setBusy] = useState(false);
  async function submit(e: React.FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const form = new FormData(e.currentTarget);
    const collectionId = String(form.get("collectionId"));
    const data = new FormData();
    for (const f of form.getAll("file")) if (f instanceof File && f.size >= 0 && f.name) data.append("file", f);
    setBusy(true);
    setMessage(null);
    try {
      const body = await fetchJson<{ files: Array<{ file: string; status: string; chunks: number }> }>(
        `/api/import/upload?collectionId=${encodeURIComponent(collectionId)}`,
        { method: "POST", body: data },
      );
      setMessage({ ok: true, text: body.files.map((f) => `${f.file}: ${f.status} (${f.chunks} chunks)`).join("; ") });
      router.refresh();
    } catch (err) {
      setMessage({ ok: false, text: errorMessage(err) });
    } finally {
      setBusy(false);
    }
  }
  return (
    <form onSubmit={submit} className="flex flex-wrap items-end gap-3 text-sm" aria-label="Upload files">
      <CollectionField label="Collection" collections={collections} className="w-full sm:w-56" />
      <Field label="Files (md, txt, html, pdf, docx, json)" className="w-full sm:w-auto">
        <input type="file" name="file" multiple required accept=".md,.markdown,.txt,.html,.htm,.pdf,.docx,.json" className="max-w-full text-sm" />
      </Field>
      <Button type="submit" variant="primary" disabled={busy}>
        {busy ? "Uploading…" : "Upload"}
      </Button>
      {message?.ok && <FormNotice message={message.text} className="w-full text-xs" testId="upload-result" />}
      {message && !message.ok && <FormError message={message.text} className="w-full text-xs" testId="upload-result" />}
    </form>
  );
}

function NotionForm({ collections }: { collections: CollectionOption[] }) {
  const router = useRouter();
  const [error, setError] = useState<string | null>(null);
  async function submit(e: React.FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const f = new FormData(e.currentTarget);
    const roots = String(f.get("rootPageIds") ?? "").split(/[\s,]+/).filter(Boolean);
    const form = e.currentTarget;
    try {
      await fetchJson("/api/sources", {
        method: "POST",
        json: { kind: "notion", name: f.get("name"), collectionId: f.get("collectionId"), token: f.get("token"), rootPageIds: roots },
      });
    } catch (err) {
      setError(errorMessage(err));
      return;
    }
    setError(null);
    form.reset();
    router.refresh();
  }
  return (
    <form onSubmit={submit} className="flex flex-wrap items-end gap-3 text-sm" aria-label="Connect Notion">
      <Field label="Name" className="w-full sm:w-48">
        <input name="name" required className={controlClass} />
      </Field>
      <CollectionField label="Collection" collections={collections} className="w-full sm:w-48" />
      <Field label="Integration token (stored encrypted)" className="w-full sm:w-56">
        <input name="token" type="password" required autoComplete="off" className={controlClass} />
      </Field>
      <Field label="Root page ids (optional)" className="w-full sm:w-56">
        <input name="rootPageIds" className={controlClass} />
      </Field>
      <Button type="submit" variant="primary">
        Connect
      </Button>
      <FormError message={error} className="w-full text-xs" />
    </form>
  );
}

/** The Sources page body: sources with import buttons and live progress, uploads, and (admins) connecting Notion. */
export function SourcesPanel({ sources, collections, isAdmin }: { sources: SourceView[]; collections: CollectionOption[]; isAdmin: boolean }) {
  return (
    <div className="space-y-8">
      <Table
        testId="sources-table"
        empty="No sources yet."
        columns={[{ header: "Name", sortable: true }, { header: "Kind", sortable: true }, { header: "Collection", sortable: true }, { header: "Documents", sortable: true, align: "right" }, { header: "Latest import" }]}
        rows={sources.map((s) => ({
          key: s.id,
          attrs: { "data-testid": `source-${s.name}` },
          sort: [s.name, s.kind, s.collectionName, s.documents],
          cells: [
            <span key="n" className="font-medium break-words">{s.name}</span>,
            s.kind,
            s.collectionName,
            <span key="d" data-testid="source-documents">{s.documents}</span>,
            <SourceImport key="i" source={s} isAdmin={isAdmin} />,
          ],
        }))}
      />
      {collections.length > 0 && (
        <section className="space-y-2" aria-labelledby="upload-title">
          <h2 id="upload-title" className="text-lg font-semibold">
            Upload files
          </h2>
          <UploadForm collections={collections} />
        </section>
      )}
      {isAdmin && collections.length > 0 && (
        <section className="space-y-2" aria-labelledby="notion-title">
          <h2 id="notion-title" className="text-lg font-semibold">
            Connect Notion
          </h2>
          <NotionForm collections={collections} />
        </section>
      )}
    </div>
  );
}
