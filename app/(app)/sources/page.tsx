import { requirePagePrincipal } from "@/app/_server/principal";
import { SourcesPanel, type CollectionOption, type SourceRow } from "@/components/sources/sources-panel";
import { readableCollectionIds } from "@/lib/auth/access";
import { can } from "@/lib/auth/roles";
import { getDb } from "@/lib/db/client";
import { listSources } from "@/lib/ingest";

export const dynamic = "force-dynamic";

/** Sources: where the wiki comes from, their latest import with live progress, uploads, connecting Notion. */
export default async function SourcesPage() {
  const principal = await requirePagePrincipal("import");
  const db = await getDb();
  const ids = await readableCollectionIds(db, principal);
  const [sources, collections] = await Promise.all([
    listSources(db, ids),
    db.prisma.collection.findMany({ where: { id: { in: ids } }, orderBy: { name: "asc" }, select: { id: true, name: true } }),
  ]);
  const rows: SourceRow[] = JSON.parse(JSON.stringify(sources));
  const options: CollectionOption[] = collections;
  return (
    <div className="space-y-6">
      <h1 className="text-2xl font-semibold">Sources</h1>
      <SourcesPanel sources={rows} collections={options} isAdmin={can(principal, "admin")} />
    </div>
  );
}
