// An old page put back together from its chunks, as a SourceDocument for the normal ingest pipeline
// (which hashes it, chunks it the SOT way and embeds it with the local model). The old ids and the
// original URL stay on the document, so citations point at the pages people know.
import type { SourceDocument } from "../ingest/pipeline";
import type { StagedRow } from "./queries";

/** Text shared by the end of one chunk and the start of the next (chunkers overlap them) is kept once. */
const MIN_OVERLAP = 20;
const MAX_OVERLAP = 2000;

function overlap(prev: string, next: string): number {
  const max = Math.min(prev.length, next.length, MAX_OVERLAP);
  for (let n = max; n >= MIN_OVERLAP; n--) {
    if (prev.endsWith(next.slice(0, n))) return n;
  }
  return 0;
}

export function assembleDocument(docKey: string, rows: StagedRow[], table: string): SourceDocument {
  const parts: string[] = [];
  let lastHeading: string | null = null;
  let prev = "";
  for (const r of rows) {
    let text = r.content.trim();
    const cut = overlap(prev, text);
    if (cut > 0) text = text.slice(cut).trimStart();
    const heading = r.heading ? r.heading.split(" › ").pop()!.trim() : null;
    if (heading && heading !== lastHeading && !text.startsWith("#") && !text.startsWith(heading)) parts.push(`## ${heading}`);
    if (heading) lastHeading = heading;
    if (text) parts.push(text);
    prev = r.content.trim();
  }
  const first = rows[0];
  const title =
    rows.find((r) => r.title)?.title ??
    rows.find((r) => r.heading)?.heading ??
    (first?.content.trim().split("\n")[0].replace(/^#+\s*/, "").slice(0, 80) || docKey);
  const url = rows.find((r) => r.url)?.url ?? null;
  const pageId = rows.find((r) => r.pageId)?.pageId ?? null;
  const updated = rows.map((r) => r.updatedAt).filter((u): u is string => !!u).sort().pop() ?? null;
  return {
    externalId: docKey,
    title,
    url: url && /^https?:\/\//i.test(url) ? url : null,
    markdown: parts.join("\n\n"),
    properties: {
      importedFrom: "supabase",
      table,
      ...(pageId ? { pageId } : {}),
      ...(url ? { originalUrl: url } : {}),
      oldIds: rows.map((r) => r.oldId).filter((id): id is string => id !== null),
    },
    updatedAt: updated ? new Date(updated) : null,
  };
}
