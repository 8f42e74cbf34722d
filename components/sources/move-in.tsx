"use client";
// "Move in from Supabase" (admins): pick the export (a plain-SQL pg_dump or a CSV of the old chunk
// table), check it with a dry run (the report: rows, pages, embedding dimension, what happens to the old
// vectors), then import it and follow the import job's progress.
import { useRouter } from "next/navigation";
import { useRef, useState } from "react";
import { Button } from "@/components/ui/button";
import { controlClass, Field } from "@/components/ui/field";
import { CollectionField } from "@/components/ui/collection-select";
import { FormError } from "@/components/ui/form-error";
import type { CollectionOption } from "@/lib/access/types";
import { errorMessage, fetchJson, uploadJson } from "@/lib/http/client-fetch";
import type { MoveInReport } from "@/lib/supabase-import/types";

type JobView = NonNullable<MoveInReport["job"]>;

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
      const r = await uploadJson<MoveInReport>(`/api/import/supabase?${params}`, file, { onProgress: setSent });
      setReport(r);
      if (!r.job) return setPhase("idle");
      setJob(r.job);
      setPhase("importing");
      // Follow the job until it ends.
      for (;;) {
        await new Promise((ok) => setTimeout(ok, 1000));
        const { job: j } = await fetchJson<{ job: JobView }>(`/api/import/${r.job.id}`);
        setJob(j);
        if (j.status === "succeeded" || j.status === "failed") break;
      }
      setPhase("done");
      router.refresh();
    } catch (err) {
      setPhase("idle");
      setError(errorMessage(err));
    }
  }

  const busy = phase === "uploading" || phase === "importing";
  return (
    <div className="space-y-3 text-sm">
      <form ref={formRef} onSubmit={(e) => e.preventDefault()} className="flex flex-wrap items-end gap-2" aria-label="Move in from Supabase">
        <CollectionField label="Into collection" collections={collections} className="w-full sm:w-48" />
        <Field label="Export (pg_dump plain SQL, or CSV)" className="w-full sm:w-auto">
          <input type="file" name="export" required accept=".sql,.csv,.gz,.txt" className="min-w-0 text-sm" />
        </Field>
        <Field label="Table (optional)" className="w-full sm:w-32">
          <input name="table" placeholder="wiki_chunks" className={controlClass} />
        </Field>
        <Field label="Map (optional)" className="w-full sm:w-64">
          <input name="map" placeholder="content=body,title=metadata.title" className={controlClass} />
        </Field>
        <Button disabled={busy} onClick={() => run(true)}>
          Check (dry run)
        </Button>
        <Button variant="primary" disabled={busy} onClick={() => run(false)}>
          Import
        </Button>
      </form>
      {phase === "uploading" && (
        <label className="flex items-center gap-2">
          <span className="text-xs text-zinc-500">{sent < 1 ? "Uploading" : "Reading the export"}</span>
          <progress max={1} value={sent} className="w-64" data-testid="move-in-upload" />
        </label>
      )}
      <FormError message={error} testId="move-in-error" />
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
