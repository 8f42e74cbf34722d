"use client";
import { useRouter } from "next/navigation";
import { useEffect, useState } from "react";

export interface JobRow {
  id: string;
  kind: string;
  status: string;
  phase: string;
  found: number;
  done: number;
  failed: number;
  unchanged: number;
  removed: number;
  warnings?: number;
  error: string | null;
  failures?: Array<{ externalId: string; title: string | null; error: string | null }>;
  warningItems?: Array<{ externalId: string; title: string | null; warning: string }>;
}

export interface SourceRow {
  id: string;
  name: string;
  kind: string;
  collectionId: string;
  collectionName: string;
  status: string;
  lastSyncAt: string | null;
  lastError: string | null;
  documents: number;
  hasSecret: boolean;
  config: Record<string, unknown>;
  webhook?: { verifiedAt: string | null; awaitingHandshakeUntil: string | null } | null;
  latestJob: JobRow | null;
}

export interface CollectionOption {
  id: string;
  name: string;
}

const active = (j: JobRow | null) => !!j && (j.status === "queued" || j.status === "running");

// What a job's kind means for the source: only a full sync removes pages that are gone.
const KIND_LABELS: Record<string, string> = {
  full: "full sync",
  reconcile: "full sync (reconcile)",
  s3_sync: "full sync",
  partial: "partial import: adds and updates only",
  pages: "partial import: adds and updates only",
};

const time = (iso: string) => new Date(iso).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });

async function errorText(res: Response): Promise<string> {
  const body = (await res.json().catch(() => null)) as { error?: { message?: string } } | null;
  return body?.error?.message ?? `HTTP ${res.status}`;
}

/** Import progress of one job, polled while it runs. */
function JobProgress({ job }: { job: JobRow }) {
  const pct = job.found > 0 ? Math.round(((job.done + job.failed) / job.found) * 100) : 0;
  return (
    <div className="space-y-1" data-testid="job-progress">
      <div className="flex flex-wrap gap-x-3 text-xs text-zinc-600 dark:text-zinc-400">
        <span data-testid="job-status" className={job.status === "failed" ? "text-red-600" : job.status === "succeeded" ? "text-emerald-700" : "text-blue-600"}>
          {job.status}
        </span>
        <span data-testid="job-kind">{KIND_LABELS[job.kind] ?? job.kind}</span>
        <span>{job.phase}</span>
        <span data-testid="job-counts">
          {job.done} of {job.found} pages done · {job.failed} failed · {job.unchanged} unchanged · {job.removed} removed
          {job.warnings ? ` · ${job.warnings} with warnings` : ""}
        </span>
      </div>
      <div className="h-1.5 w-64 rounded bg-zinc-200 dark:bg-zinc-800" role="progressbar" aria-valuenow={pct} aria-valuemin={0} aria-valuemax={100}>
        <div className="h-1.5 rounded bg-blue-600" style={{ width: `${pct}%` }} />
      </div>
      {job.error && <p className="text-xs text-red-600">{job.error}</p>}
      {job.failures && job.failures.length > 0 && (
        <ul className="text-xs text-red-600" data-testid="job-failures">
          {job.failures.map((f) => (
            <li key={f.externalId}>
              {f.title ?? f.externalId}: {f.error}
            </li>
          ))}
        </ul>
      )}
      {job.warningItems && job.warningItems.length > 0 && (
        <ul className="text-xs text-amber-700 dark:text-amber-500" data-testid="job-warnings">
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
function NotionWebhook({ source, onError }: { source: SourceRow; onError: (message: string | null) => void }) {
  const router = useRouter();
  const [awaitingUntil, setAwaitingUntil] = useState<string | null>(source.webhook?.awaitingHandshakeUntil ?? null);
  const [token, setToken] = useState<string | null>(null);
  const [url, setUrl] = useState(`/api/notion/webhook?source=${source.id}`);
  useEffect(() => setAwaitingUntil(source.webhook?.awaitingHandshakeUntil ?? null), [source.webhook?.awaitingHandshakeUntil]);

  async function awaitHandshake() {
    onError(null);
    const res = await fetch(`/api/sources/${source.id}/webhook-token`, { method: "POST" });
    if (!res.ok) return onError(await errorText(res));
    const body = (await res.json()) as { awaitingHandshakeUntil: string; webhookUrl: string };
    setAwaitingUntil(body.awaitingHandshakeUntil);
    setUrl(body.webhookUrl);
  }

  async function showToken() {
    onError(null);
    const res = await fetch(`/api/sources/${source.id}/webhook-token`, { cache: "no-store" });
    if (!res.ok) return onError(await errorText(res));
    const body = (await res.json()) as { verificationToken: string | null; webhookUrl: string; awaitingHandshakeUntil: string | null };
    setAwaitingUntil(body.awaitingHandshakeUntil);
    setUrl(body.webhookUrl);
    setToken(body.verificationToken ?? "");
    if (body.verificationToken) router.refresh();
  }

  const verifiedAt = source.webhook?.verifiedAt;
  return (
    <div className="space-y-1 text-xs" data-testid="webhook-state">
      <p className="text-zinc-600 dark:text-zinc-400">
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
      <div className="space-x-2">
        <button type="button" onClick={awaitHandshake} className="rounded border border-zinc-300 px-2 py-1 dark:border-zinc-700">
          Await webhook handshake
        </button>
        <button type="button" onClick={showToken} className="rounded border border-zinc-300 px-2 py-1 dark:border-zinc-700">
          Webhook token
        </button>
      </div>
    </div>
  );
}

function SourceLine({ source, isAdmin }: { source: SourceRow; isAdmin: boolean }) {
  const router = useRouter();
  const [job, setJob] = useState<JobRow | null>(source.latestJob);
  const [error, setError] = useState<string | null>(null);
  const importable = source.kind === "notion" || source.kind === "s3";

  useEffect(() => setJob(source.latestJob), [source.latestJob]);
  useEffect(() => {
    if (!job || !active(job)) return;
    const t = setInterval(async () => {
      const res = await fetch(`/api/import/${job.id}`, { cache: "no-store" });
      if (!res.ok) return;
      const next = ((await res.json()) as { job: JobRow }).job;
      setJob(next);
      if (!active(next)) router.refresh();
    }, 1000);
    return () => clearInterval(t);
  }, [job, router]);

  async function start() {
    setError(null);
    const res = await fetch("/api/import", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ sourceId: source.id }) });
    if (!res.ok) return setError(await errorText(res));
    setJob(((await res.json()) as { job: JobRow }).job);
  }

  return (
    <tr className="border-t border-zinc-200 align-top dark:border-zinc-800" data-testid={`source-${source.name}`}>
      <td className="py-2 font-medium">{source.name}</td>
      <td>{source.kind}</td>
      <td>{source.collectionName}</td>
      <td data-testid="source-documents">{source.documents}</td>
      <td className="space-y-1">
        {job ? <JobProgress job={job} /> : <span className="text-xs text-zinc-500">never imported</span>}
        {error && <p className="text-xs text-red-600" role="alert">{error}</p>}
        {isAdmin && source.kind === "notion" && <NotionWebhook source={source} onError={setError} />}
      </td>
      <td className="space-x-2 whitespace-nowrap text-right">
        {importable && (
          <button type="button" onClick={start} disabled={active(job)} className="rounded bg-blue-600 px-2 py-1 text-xs text-white disabled:opacity-50">
            {active(job) ? "Importing…" : "Import now"}
          </button>
        )}
      </td>
    </tr>
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
    const res = await fetch(`/api/import/upload?collectionId=${encodeURIComponent(collectionId)}`, { method: "POST", body: data });
    setBusy(false);
    if (!res.ok) return setMessage({ ok: false, text: await errorText(res) });
    const body = (await res.json()) as { files: Array<{ file: string; status: string; chunks: number }> };
    setMessage({ ok: true, text: body.files.map((f) => `${f.file}: ${f.status} (${f.chunks} chunks)`).join("; ") });
    router.refresh();
  }
  return (
    <form onSubmit={submit} className="flex flex-wrap items-end gap-2 text-sm" aria-label="Upload files">
      <label className="flex flex-col">
        <span className="text-xs text-zinc-500">Collection</span>
        <select name="collectionId" className="rounded border border-zinc-300 px-2 py-1 dark:border-zinc-700 dark:bg-zinc-900">
          {collections.map((c) => (
            <option key={c.id} value={c.id}>
              {c.name}
            </option>
          ))}
        </select>
      </label>
      <label className="flex flex-col">
        <span className="text-xs text-zinc-500">Files (md, txt, html, pdf, docx, json)</span>
        <input type="file" name="file" multiple required accept=".md,.markdown,.txt,.html,.htm,.pdf,.docx,.json" />
      </label>
      <button type="submit" disabled={busy} className="rounded bg-blue-600 px-3 py-1 text-white disabled:opacity-50">
        {busy ? "Uploading…" : "Upload"}
      </button>
      {message && (
        <p role={message.ok ? "status" : "alert"} className={`w-full text-xs ${message.ok ? "text-emerald-700" : "text-red-600"}`} data-testid="upload-result">
          {message.text}
        </p>
      )}
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
    const res = await fetch("/api/sources", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ kind: "notion", name: f.get("name"), collectionId: f.get("collectionId"), token: f.get("token"), rootPageIds: roots }),
    });
    if (!res.ok) return setError(await errorText(res));
    setError(null);
    (e.target as HTMLFormElement).reset();
    router.refresh();
  }
  return (
    <form onSubmit={submit} className="flex flex-wrap items-end gap-2 text-sm" aria-label="Connect Notion">
      <label className="flex flex-col">
        <span className="text-xs text-zinc-500">Name</span>
        <input name="name" required className="rounded border border-zinc-300 px-2 py-1 dark:border-zinc-700 dark:bg-zinc-900" />
      </label>
      <label className="flex flex-col">
        <span className="text-xs text-zinc-500">Collection</span>
        <select name="collectionId" className="rounded border border-zinc-300 px-2 py-1 dark:border-zinc-700 dark:bg-zinc-900">
          {collections.map((c) => (
            <option key={c.id} value={c.id}>
              {c.name}
            </option>
          ))}
        </select>
      </label>
      <label className="flex flex-col">
        <span className="text-xs text-zinc-500">Integration token (stored encrypted)</span>
        <input name="token" type="password" required autoComplete="off" className="rounded border border-zinc-300 px-2 py-1 dark:border-zinc-700 dark:bg-zinc-900" />
      </label>
      <label className="flex flex-col">
        <span className="text-xs text-zinc-500">Root page ids (optional)</span>
        <input name="rootPageIds" className="rounded border border-zinc-300 px-2 py-1 dark:border-zinc-700 dark:bg-zinc-900" />
      </label>
      <button type="submit" className="rounded bg-blue-600 px-3 py-1 text-white">
        Connect
      </button>
      {error && (
        <p role="alert" className="w-full text-xs text-red-600">
          {error}
        </p>
      )}
    </form>
  );
}

/** The Sources page body: sources with import buttons and live progress, uploads, and (admins) connecting Notion. */
export function SourcesPanel({ sources, collections, isAdmin }: { sources: SourceRow[]; collections: CollectionOption[]; isAdmin: boolean }) {
  return (
    <div className="space-y-8">
      {sources.length === 0 ? (
        <p className="text-sm text-zinc-500">No sources yet.</p>
      ) : (
        <table className="w-full text-left text-sm" data-testid="sources-table">
          <thead className="text-xs uppercase text-zinc-500">
            <tr>
              <th className="py-1">Name</th>
              <th>Kind</th>
              <th>Collection</th>
              <th>Documents</th>
              <th>Latest import</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {sources.map((s) => (
              <SourceLine key={s.id} source={s} isAdmin={isAdmin} />
            ))}
          </tbody>
        </table>
      )}
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
