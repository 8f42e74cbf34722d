import { requirePageAccess } from "@/app/_server/access";
import { SourcesPanel } from "@/components/sources/sources-panel";
import { PageHeader } from "@/components/ui/page-header";
import { readableCollections } from "@/lib/connect/collections";
import { listSources } from "@/lib/ingest";

export const dynamic = "force-dynamic";

/** Sources: where the wiki comes from, their latest import with live progress, uploads, connecting Notion. */
export default async function SourcesPage() {
  const access = await requirePageAccess("import");
  const [sources, collections] = await Promise.all([listSources(access.db, access.readableIds), readableCollections(access)]);
  return (
    <div className="space-y-6">
      <PageHeader title="Sources" description="Where the wiki comes from: Notion, uploads and S3, with each source's latest import." />
      <SourcesPanel sources={sources} collections={collections} isAdmin={access.isAdmin} />
    </div>
  );
}
