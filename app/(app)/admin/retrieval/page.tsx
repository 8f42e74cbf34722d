// Retrieval test (admin): for any query, the candidates of every stage — vector (HNSW), full-text (BM25),
// fused (RRF) and reranked — with their scores, so a bad answer can be traced to the stage that missed.
import { requirePageAccess } from "@/app/_server/access";
import { RetrievalStages } from "@/components/ask/retrieval-stages";
import { retrieve } from "@/lib/retrieve";

export const dynamic = "force-dynamic";

export default async function RetrievalTestPage({ searchParams }: { searchParams: Promise<{ q?: string; collection?: string }> }) {
  const access = await requirePageAccess("admin");
  const { db } = access;
  const { q, collection } = await searchParams;
  const readable = access.readableIds;
  const collections = await db.prisma.collection.findMany({ where: { id: { in: readable } }, orderBy: { name: "asc" }, select: { id: true, name: true } });
  const query = (q ?? "").trim().slice(0, 2000);
  const chosen = collection && readable.includes(collection) ? [collection] : readable;
  const result = query ? await retrieve(query, { collectionIds: chosen, allStages: true, db }) : null;

  return (
    <div className="space-y-4">
      <h1 className="text-2xl font-semibold">Retrieval test</h1>
      <form method="get" className="flex flex-wrap items-end gap-2">
        <label className="flex min-w-64 flex-1 flex-col text-sm">
          Query
          <input name="q" defaultValue={query} className="rounded border border-zinc-300 bg-transparent px-2 py-1 dark:border-zinc-700" />
        </label>
        <label className="flex flex-col text-sm">
          Collection
          <select name="collection" defaultValue={collection ?? ""} className="rounded border border-zinc-300 bg-transparent px-2 py-1 dark:border-zinc-700">
            <option value="">All</option>
            {collections.map((c) => (
              <option key={c.id} value={c.id}>
                {c.name}
              </option>
            ))}
          </select>
        </label>
        <button type="submit" className="rounded bg-sky-600 px-3 py-1.5 text-sm font-medium text-white">
          Search
        </button>
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
