import { requirePageAccess } from "@/app/_server/access";
import { MoveInForm } from "@/components/sources/move-in";
import { SourcesPanel, type CollectionOption, type SourceRow } from "@/components/sources/sources-panel";
import { can } from "@/lib/access/context";
import { listSources } from "@/lib/ingest";

export const dynamic = "force-dynamic";

/** Sources: where the wiki comes from, their latest import with live progress, uploads, connecting Notion. */
export default async function SourcesPage() {
  const access = await requirePageAccess("import");
  const { db } = access;
  const ids = access.readableIds;
  const [sources, collections] = await Promise.all([
    listSources(db, ids),
    db.prisma.collection.findMany({ where: { id: { in: ids } }, orderBy: { name: "asc" }, select: { id: true, name: true } }),
  ]);
  const rows: SourceRow[] = JSON.parse(JSON.stringify(sources));
  const options: CollectionOption[] = collections;
  return (
    <div className="space-y-6">
      <h1 className="text-2xl font-semibold">Sources</h1>
      <SourcesPanel sources={rows} collections={options} isAdmin={access.isAdmin} />
      {access.isAdmin && (
        <section className="space-y-2" aria-labelledby="move-in-title">
          <h2 id="move-in-title" className="text-lg font-semibold">
            Move in from Supabase
          </h2>
          <p className="text-sm text-zinc-500">
            The old wiki&apos;s chunk table, exported with <code>pg_dump --table=wiki_chunks</code> (plain SQL) or as CSV: each old page
            becomes one document, embedded again with the local model.
          </p>
          <MoveInForm collections={options} />
        </section>
      )}
    </div>
  );
}
