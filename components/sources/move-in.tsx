"use client";
// "Move in from Supabase" (admins): pick the export (a plain-SQL pg_dump or a CSV of the old chunk
// table), check it with a dry run (the report: rows, pages, embedding dimension, what happens to the old
// vectors), then import it and follow the import job's progress.
import { useRouter } from "next/navigation";
import { useRef, useState } from "react";
import type { MoveInReport } from "@/lib/supabase-import/types";
import type { CollectionOption } from "@/lib/access/types";

type JobView = NonNullable<MoveInReport["job"]>;

async function errorOf(status: number, text: string): Promise<string> {
  try {
    const body = JSON.parse(text) as { error?: { message?: string } };
    return body.error?.message ?? `The server answered ${status}.`;
  } catch {
    return `The server answered ${status}.`;
  }
}

/** Sends the file as the request body (XMLHttpRequest: fetch reports no upload progress). */
function send(url: string, file: File, onProgress: (fraction: number) => void): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", url);
    xhr.setRequestHeader("content-type", "application/octet-stream");
    xhr.upload.onprogress = (e) => e.lengthComputable && onProgress(e.loaded / e.total);
    xhr.onload = () => resolve({ status: xhr.status, text: xhr.responseText });
    xhr.onerror = () => reject(new Error("The upload failed (network error)."));
    xhr.send(file);
  });
}

export function MoveInForm({ collections }: { collections: CollectionOption[] }) {
  const router = useRouter();
  const formRef = useRef<HTMLFormElement>(null);
  const [phase, setPhase] = useState<"idle" | "uploading" | "importing" | "done">("idle");
  const [sent, setSent] = useState(0);
  const [report, setReport] = useState<MoveInReport | null>(null);
  const [job, setJob] = useState<JobView | null>(null);
  const [error, setError] = useState<string | null>(null);

  async function run(dryRun: boolean) {
    const form = formRef.current;
    if (!form || !form.reportValidity()) return;
    const data = new FormData(form);
    const file = data.get("export");
    if (!(file instanceof File) || !file.name) return setError("Choose the export file first.");
    const params = new URLSearchParams({ collectionId: String(data.get("collectionId")), fileName: file.name, dryRun: String(dryRun) });
    for (const k of ["table", "map"] as const) {
      const v = String(data.get(k) ?? "").trim();
      if (v) params.set(k, v);
    }
    setError(null);
    setJob(null);
    setReport(null);
    setSent(0);
    setPhase("uploading");
    try {
      const res = await send(`/api/import/supabase?${params}`, file, setSent);
      if (res.status >= 400) {
        setPhase("idle");
        return setError(await errorOf(res.status, res.text));
      }
      const r = JSON.parse(res.text) as MoveInReport;
      setReport(r);
      if (!r.job) return setPhase("idle");
      setJob(r.job);
      setPhase("importing");
      // Follow the job until it ends.
      for (;;) {
        await new Promise((ok) => setTimeout(ok, 1000));
        const p = await fetch(`/api/import/${r.job.id}`);
        if (!p.ok) throw new Error(await errorOf(p.status, await p.text()));
        const j = ((await p.json()) as { job: JobView }).job;
        setJob(j);
        if (j.status === "succeeded" || j.status === "failed") break;
      }
      setPhase("done");
      router.refresh();
    } catch (err) {
      setPhase("idle");
      setError((err as Error).message);
    }
  }

  const busy = phase === "uploading" || phase === "importing";
  return (
    <div className="space-y-3 text-sm">
      <form ref={formRef} onSubmit={(e) => e.preventDefault()} className="flex flex-wrap items-end gap-2" aria-label="Move in from Supabase">
        <label className="flex flex-col">
          <span className="text-xs text-zinc-500">Into collection</span>
          <select name="collectionId" className="rounded border border-zinc-300 px-2 py-1 dark:border-zinc-700 dark:bg-zinc-900">
            {collections.map((c) => (
              <option key={c.id} value={c.id}>
                {c.name}
              </option>
            ))}
          </select>
        </label>
        <label className="flex flex-col">
          <span className="text-xs text-zinc-500">Export (pg_dump plain SQL, or CSV)</span>
          <input type="file" name="export" required accept=".sql,.csv,.gz,.txt" />
        </label>
        <label className="flex flex-col">
          <span className="text-xs text-zinc-500">Table (optional)</span>
          <input name="table" placeholder="wiki_chunks" className="w-32 rounded border border-zinc-300 px-2 py-1 dark:border-zinc-700 dark:bg-zinc-900" />
        </label>
        <label className="flex flex-col">
          <span className="text-xs text-zinc-500">Map (optional)</span>
          <input name="map" placeholder="content=body,title=metadata.title" className="w-64 rounded border border-zinc-300 px-2 py-1 dark:border-zinc-700 dark:bg-zinc-900" />
        </label>
        <button type="button" disabled={busy} onClick={() => run(true)} className="rounded border border-zinc-300 px-3 py-1 disabled:opacity-50 dark:border-zinc-700">
          Check (dry run)
        </button>
        <button type="button" disabled={busy} onClick={() => run(false)} className="rounded bg-blue-600 px-3 py-1 text-white disabled:opacity-50">
          Import
        </button>
      </form>
      {phase === "uploading" && (
        <label className="flex items-center gap-2">
          <span className="text-xs text-zinc-500">{sent < 1 ? "Uploading" : "Reading the export"}</span>
          <progress max={1} value={sent} className="w-64" data-testid="move-in-upload" />
        </label>
      )}
      {error && (
        <p role="alert" className="text-xs text-red-600" data-testid="move-in-error">
          {error}
        </p>
      )}
      {report && <MoveInReportView report={report} />}
      {job && (
        <div className="space-y-1" data-testid="move-in-job">
          <label className="flex items-center gap-2">
            <span className="text-xs text-zinc-500">Importing pages</span>
            <progress max={Math.max(job.found, report?.documents ?? 0, 1)} value={job.done + job.failed} className="w-64" data-testid="move-in-progress" />
            <span className="text-xs">
              {job.done + job.failed}/{Math.max(job.found, report?.documents ?? 0)}
            </span>
          </label>
          <p role="status" className="text-xs" data-testid="move-in-status">
            {job.status === "succeeded"
              ? `Done: ${job.done - job.unchanged} pages imported, ${job.unchanged} unchanged, ${job.failed} failed, ${job.embeddedChunks} chunks embedded.`
              : job.status === "failed"
                ? `Failed: ${job.error ?? "see the source's import"}`
                : `${job.status}…`}
          </p>
        </div>
      )}
    </div>
  );
}

function MoveInReportView({ report: r }: { report: MoveInReport }) {
  const rows: Array<[string, string]> = [
    ["Table", `${r.table} (${r.format})`],
    ["Rows", String(r.rows)],
    ["Chunks", `${r.chunks} (${r.emptyChunks} empty and ${r.duplicateChunks} duplicate skipped)`],
    ["Pages (documents)", `${r.documents} — by ${Object.entries(r.groupedBy).filter(([, n]) => n).map(([k, n]) => `${k}: ${n}`).join(", ")}`],
    ["Embeddings", r.embedding.dimension ? `${r.embedding.dimension} dimensions: ${r.embedding.modelGuess}` : "none"],
    ["Old vectors", `not reused; embedded again with ${r.embedding.localModel}. ${r.embedding.why}`],
    ["Collection", r.collection.name],
  ];
  return (
    <div className="space-y-1" data-testid="move-in-report">
      <p className="font-medium">{r.dryRun ? "Dry run: nothing was written." : "Read; the import is running."}</p>
      <dl className="grid grid-cols-[10rem_1fr] gap-x-3 gap-y-1 text-xs">
        {rows.map(([k, v]) => (
          <div key={k} className="contents">
            <dt className="text-zinc-500">{k}</dt>
            <dd>{v}</dd>
          </div>
        ))}
      </dl>
      {r.sample.length > 0 && (
        <ul className="list-disc pl-5 text-xs">
          {r.sample.map((s, i) => (
            <li key={i}>
              {s.title ?? "(no title)"} — {s.url ?? "(no URL)"} ({s.chunks} chunks)
            </li>
          ))}
        </ul>
      )}
      {r.warnings.map((w) => (
        <p key={w} className="text-xs text-amber-700">
          {w}
        </p>
      ))}
    </div>
  );
}
