import { requirePageAccess } from "@/app/_server/access";
import { MoveInForm } from "@/components/sources/move-in";
import { SourcesPanel } from "@/components/sources/sources-panel";
import { PageHeader } from "@/components/ui/page-header";
import { readableCollections } from "@/lib/connect/collections";
import { listSources } from "@/lib/ingest";

export const dynamic = "force-dynamic";

/** Sources: where the wiki comes from, their latest import with live progress, uploads, connecting Notion. */
export default async function SourcesPage() {
  const access = await requirePageAccess("import");
  const [sources, collections] = await Promise.all([listSources(access), readableCollections(access)]);
  return (
    <div className="space-y-6">
      <PageHeader title="Sources" description="Where the wiki comes from: Notion, uploads and S3, with each source's latest import." />
      <SourcesPanel sources={sources} collections={collections} isAdmin={access.isAdmin} />
      {access.isAdmin && (
        <section className="space-y-2" aria-labelledby="move-in-title">
          <h2 id="move-in-title" className="text-lg font-semibold">
            Move in from Supabase
          </h2>
          <p className="text-sm text-zinc-500">
            The old wiki&apos;s chunk table, exported with <code>pg_dump --table=wiki_chunks</code> (plain SQL) or as CSV: each old page
            becomes one document, embedded again with the local model.
          </p>
          <MoveInForm collections={collections} />
        </section>
      )}
    </div>
  );
}
