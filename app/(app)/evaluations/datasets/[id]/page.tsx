import Link from "next/link";
import { notFound } from "next/navigation";
import { getConfig } from "@/lib/config";
import { requirePageAccess } from "@/app/_server/access";
import { AddLoggedQuestion } from "@/components/evaluations/add-logged-question";
import { DatasetCollectionsForm } from "@/components/evaluations/dataset-collections-form";
import { DatasetEditor } from "@/components/evaluations/dataset-editor";
import { DatasetImportForm } from "@/components/evaluations/dataset-import-form";
import { StartRunForm } from "@/components/evaluations/start-run-form";
import { Table } from "@/components/ui/table";
import { NotFoundError } from "@/lib/errors";
import { bindableCollections, getDataset, recentLoggedQuestions } from "@/lib/evaluate/datasets";

export const dynamic = "force-dynamic";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export default async function DatasetPage({ params, searchParams }: { params: Promise<{ id: string }>; searchParams: Promise<{ version?: string }> }) {
  const access = await requirePageAccess("score");
  const { id } = await params;
  const { version } = await searchParams;
  if (!UUID.test(id)) notFound();
  const v = version && /^\d+$/.test(version) ? Number(version) : undefined;
  // A dataset outside the viewer's collections is "not found", exactly like one that does not exist.
  const ds = await getDataset(access, id, v).catch((err) => {
    if (err instanceof NotFoundError) notFound();
    throw err;
  });
  const editable = ds.canEdit && ds.version === ds.currentVersion;
  const [logs, collections] = editable
    ? await Promise.all([recentLoggedQuestions(access, { within: ds.collectionIds, limit: 15 }), bindableCollections(access)])
    : [[], []];
  return (
    <div className="space-y-6">
      <div>
        <Link href="/evaluations" className="text-sm underline">
          ← Evaluations
        </Link>
        <h1 className="text-2xl font-semibold break-words">{ds.name}</h1>
        {ds.description && <p className="text-sm text-zinc-500">{ds.description}</p>}
        <p className="text-sm text-zinc-500" data-testid="dataset-scope">
          Owner: {ds.owner ?? "admins only"} · collections: {ds.collections.map((c) => c.name).join(", ") || "none"}
          {!ds.canEdit && " · only its owner or an admin may change it"}
        </p>
        <p className="text-sm">
          Showing version {ds.version} of {ds.currentVersion} · {ds.items.length} items ·{" "}
          <a className="underline" href={`/api/datasets/${ds.id}/export?format=jsonl&version=${ds.version}`}>
            export JSONL
          </a>{" "}
          ·{" "}
          <a className="underline" href={`/api/datasets/${ds.id}/export?format=csv&version=${ds.version}`}>
            export CSV
          </a>
        </p>
      </div>
      <StartRunForm datasets={[{ id: ds.id, name: ds.name, itemCount: ds.items.length }]} approvalLimit={getConfig().APPROVAL_RUN_ITEMS} canOpenQueue={access.isAdmin} />
      <Table
        testId="dataset-items"
        empty="No items yet: add questions below."
        columns={[{ header: "#", sortable: true, align: "right" }, { header: "Question", sortable: true, className: "min-w-48" }, { header: "Reference answer", className: "min-w-48" }, { header: "Expected sources" }]}
        rows={ds.items.map((it) => ({
          key: it.id,
          sort: [it.position, it.question],
          cells: [
            it.position + 1,
            <span key="q" className="break-words">{it.question}</span>,
            <span key="r" className="break-words text-zinc-600 dark:text-zinc-400">{it.referenceAnswer ?? "–"}</span>,
            <span key="s" className="break-words">{it.expectedSources.join(", ") || "–"}</span>,
          ],
        }))}
      />
      {editable && (
        <>
          <details className="min-w-0 rounded-lg border border-zinc-200 p-3 dark:border-zinc-800">
            <summary className="cursor-pointer text-sm font-medium">Edit items</summary>
            <DatasetEditor datasetId={ds.id} items={ds.items} />
          </details>
          <details className="min-w-0 rounded-lg border border-zinc-200 p-3 dark:border-zinc-800">
            <summary className="cursor-pointer text-sm font-medium">Import a file as a new version</summary>
            <DatasetImportForm datasetId={ds.id} />
          </details>
          <details className="min-w-0 rounded-lg border border-zinc-200 p-3 dark:border-zinc-800">
            <summary className="cursor-pointer text-sm font-medium">Add a logged question</summary>
            <AddLoggedQuestion datasetId={ds.id} logs={logs} />
          </details>
          <details className="min-w-0 rounded-lg border border-zinc-200 p-3 dark:border-zinc-800">
            <summary className="cursor-pointer text-sm font-medium">Collections</summary>
            <DatasetCollectionsForm datasetId={ds.id} collections={collections} selected={ds.collectionIds} />
          </details>
        </>
      )}
      <section>
        <h2 className="text-sm font-semibold">Versions</h2>
        <ul className="text-sm break-words">
          {ds.versions.map((ver) => (
            <li key={ver.version}>
              <Link className="underline" href={`/evaluations/datasets/${ds.id}?version=${ver.version}`}>
                v{ver.version}
              </Link>{" "}
              · {ver.itemCount} items · {ver.note} · {ver.createdAt.toISOString().slice(0, 16).replace("T", " ")}
            </li>
          ))}
        </ul>
      </section>
    </div>
  );
}
