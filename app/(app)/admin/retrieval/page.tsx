// Retrieval test (admin): for any query, the candidates of every stage — vector (HNSW), full-text (BM25),
// fused (RRF) and reranked — with their scores, so a bad answer can be traced to the stage that missed.
import { requirePageAccess } from "@/app/_server/access";
import { RetrievalStages } from "@/components/ask/retrieval-stages";
import { Button } from "@/components/ui/button";
import { CollectionSelect } from "@/components/ui/collection-select";
import { controlClass, Field } from "@/components/ui/field";
import { PageHeader } from "@/components/ui/page-header";
import { readableCollections } from "@/lib/connect/collections";
import { retrievalStages } from "@/lib/retrieve/stages";

export const dynamic = "force-dynamic";

export default async function RetrievalTestPage({ searchParams }: { searchParams: Promise<{ q?: string; collection?: string }> }) {
  const access = await requirePageAccess("admin");
  const { q, collection } = await searchParams;
  const collections = await readableCollections(access);
  const query = (q ?? "").trim().slice(0, 2000);
  const result = await retrievalStages(access, { query, collectionId: collection });

  return (
    <div className="space-y-4">
      <PageHeader title="Retrieval test" description="What search finds for a question, stage by stage: vector, full-text, fused and reranked." />
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
