// Retrieval test (admin): for any query, the candidates of every stage — vector (HNSW), full-text (BM25),
// fused (RRF) and reranked — with their scores, so a bad answer can be traced to the stage that missed.
import { requirePageAccess } from "@/app/_server/access";
import { RetrievalStages } from "@/components/ask/retrieval-stages";
import { Button } from "@/components/ui/button";
import { CollectionSelect } from "@/components/ui/collection-select";
import { controlClass, Field } from "@/components/ui/field";
import { PageHeader } from "@/components/ui/page-header";
import { readableCollections } from "@/lib/connect/collections";
import { buildProgressLabel, graphLabel, vectorIndexReport, type VectorIndexStatus } from "@/lib/ingest/vector-index";
import { formatBytes } from "@/lib/units";
import { retrievalStages } from "@/lib/retrieve/stages";

export const dynamic = "force-dynamic";

export default async function RetrievalTestPage({ searchParams }: { searchParams: Promise<{ q?: string; collection?: string }> }) {
  const access = await requirePageAccess("admin");
  const { q, collection } = await searchParams;
  const collections = await readableCollections(access);
  const query = (q ?? "").trim().slice(0, 2000);
  const [result, index] = await Promise.all([retrievalStages(access, { query, collectionId: collection }), vectorIndexReport(access)]);

  return (
    <div className="space-y-4">
      <PageHeader title="Retrieval test" description="What search finds for a question, stage by stage: vector, full-text, fused and reranked." />
      <VectorIndexPanel status={index} />
      <form method="get" className="flex flex-wrap items-end gap-2">
        <Field label="Query" className="w-full sm:w-auto sm:min-w-64 sm:flex-1">
          <input name="q" defaultValue={query} className={controlClass} />
        </Field>
        <Field label="Collection" className="w-full sm:w-56">
          <CollectionSelect name="collection" defaultValue={collection ?? ""} anyLabel="All" collections={collections} />
        </Field>
        <Button type="submit" variant="primary">
          Search
        </Button>
      </form>
      {result && (
        <RetrievalStages
          embed={result.embed}
          rerank={result.rerank}
          timings={result.timings}
          fused={result.fused.map((r) => ({ ...r, rerankScore: null }))}
          reranked={result.candidates}
        />
      )}
    </div>
  );
}

/** The HNSW index as built against the settings: a denser graph is applied by a rebuild (docs/scale.md). */
function VectorIndexPanel({ status }: { status: VectorIndexStatus }) {
  const { built, configured, matchesSettings, building } = status;
  return (
    <section aria-labelledby="vector-index-title" data-testid="vector-index" className="space-y-1 text-sm">
      <h2 id="vector-index-title" className="text-lg font-semibold">
        Vector index
      </h2>
      <p>
        {built
          ? `HNSW, ${graphLabel(built)}, ${formatBytes(built.bytes)}${built.valid ? "" : " — invalid (a build failed or is running)"}`
          : "None: searches read every vector until it is built."}
      </p>
      <p className="text-zinc-600 dark:text-zinc-400">
        Settings: {graphLabel(configured)}
        {matchesSettings ? "." : " — differ from the index: run npm run vector-index -- --rebuild on the server to apply them (searches keep working meanwhile)."}
      </p>
      {building && <p>Building now: {buildProgressLabel(building)}</p>}
    </section>
  );
}
