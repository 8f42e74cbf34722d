// A wiki document, read-only: where a citation opens when its source has no web page of its own
// (the demo wiki, uploads, S3). ?chunk=<chunkId> marks the cited passage and scrolls to it.
import { notFound } from "next/navigation";
import { requirePageAccess } from "@/app/_server/access";
import { webUrl } from "@/components/ask/source-link";
import { ScrollToCited } from "@/components/documents/scroll-to-cited";
import { MarkdownContent } from "@/components/markdown";
import { getDocumentView } from "@/lib/ingest";

export const dynamic = "force-dynamic";

const when = (iso: string | null) => (iso ? `${iso.slice(0, 16).replace("T", " ")} UTC` : "—");
/** The page's own "# Title" at the top of its first chunk repeats the page heading: shown once. */
const withoutTitle = (text: string, title: string) => {
  const m = /^#[ \t]+(.+?)[ \t#]*(?:\n+|$)/.exec(text);
  return m && m[1]!.trim() === title.trim() ? text.slice(m[0].length) : text;
};

export default async function DocumentPage({
  params,
  searchParams,
}: {
  params: Promise<{ id: string }>;
  searchParams: Promise<{ chunk?: string | string[] }>;
}) {
  const access = await requirePageAccess("ask");
  const [{ id }, query] = await Promise.all([params, searchParams]);
  const doc = await getDocumentView(access, id);
  if (!doc) notFound();
  const citedChunkId = typeof query.chunk === "string" ? query.chunk : null;
  const original = webUrl(doc.url);

  // A heading's anchor names the first chunk under it; further chunks of the same section (and chunks
  // without an anchor) are chunk-<position>, so every id on the page is unique.
  const seen = new Set<string>();
  const sections = doc.chunks.map((c) => {
    const id = c.anchor && !seen.has(c.anchor) ? c.anchor : `chunk-${c.position}`;
    if (c.anchor) seen.add(c.anchor);
    const text = c.position === doc.chunks[0]!.position ? withoutTitle(c.text, doc.title) : c.text;
    return { ...c, text, sectionId: id, cited: c.id === citedChunkId };
  });
  const cited = sections.find((s) => s.cited) ?? null;

  return (
    <article className="mx-auto max-w-3xl min-w-0 space-y-6" data-testid="document" data-document-id={doc.id}>
      <header className="space-y-2">
        {doc.breadcrumb.length > 0 && (
          <nav aria-label="Breadcrumb" className="text-sm break-words text-zinc-500" data-testid="document-breadcrumb">
            {doc.breadcrumb.join(" › ")}
          </nav>
        )}
        <h1 className="text-2xl font-semibold break-words" data-testid="document-title">
          {doc.title}
        </h1>
        <dl className="flex flex-wrap gap-x-6 gap-y-1 text-sm">
          <div className="flex gap-2">
            <dt className="text-zinc-500">Collection</dt>
            <dd data-testid="document-collection">{doc.collectionName}</dd>
          </div>
          <div className="flex gap-2">
            <dt className="text-zinc-500">Last updated at the source</dt>
            <dd>{when(doc.sourceUpdatedAt)}</dd>
          </div>
        </dl>
        {original && (
          <a href={original} target="_blank" rel="noopener noreferrer" className="inline-block text-sm text-sky-700 underline dark:text-sky-300" data-testid="document-original">
            {doc.sourceKind === "notion" ? "Open in Notion" : "Open original"}
          </a>
        )}
      </header>

      <ScrollToCited targetId={cited?.sectionId ?? null} />
      {sections.length === 0 ? (
        <p className="text-sm text-zinc-500">This document has no text.</p>
      ) : (
        <div className="space-y-2">
          {sections.map((s) => (
            <section
              key={s.id}
              id={s.sectionId}
              data-chunk-id={s.id}
              data-testid="document-chunk"
              {...(s.cited ? { "data-cited": "true", "aria-current": "location" as const, tabIndex: -1 } : {})}
              className={`scroll-mt-20 rounded-md px-3 py-2 ${s.cited ? "bg-amber-50 ring-2 ring-amber-400 dark:bg-amber-950/40 dark:ring-amber-500" : ""}`}
            >
              {s.cited && <p className="mb-1 text-xs font-semibold uppercase tracking-wide text-amber-700 dark:text-amber-300">Cited passage</p>}
              <MarkdownContent>{s.text}</MarkdownContent>
            </section>
          ))}
        </div>
      )}
    </article>
  );
}
