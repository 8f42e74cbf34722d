// Where a cited passage opens, as an absolute address for tools outside the browser: its web page when
// it has an http(s) address, otherwise the app's own document page at the passage (demo://, s3:// and
// uploaded documents have no web page). The same rule as the Ask page's links (components/ask/source-link.ts).

/** The stored address when it is a web page (http or https), else undefined. */
export function webPage(url: string | null | undefined): string | undefined {
  if (!url) return undefined;
  try {
    const parsed = new URL(url);
    return parsed.protocol === "http:" || parsed.protocol === "https:" ? parsed.href : undefined;
  } catch {
    return undefined;
  }
}

/** The app's document page for a passage: <origin>/documents/<id>?chunk=<chunkId>#<anchor>. */
export function documentPage(origin: string, documentId: string, chunkId?: string | null, anchor?: string | null): string {
  const query = chunkId ? `?chunk=${encodeURIComponent(chunkId)}` : "";
  const hash = anchor ? `#${encodeURIComponent(anchor)}` : "";
  return `${origin}/documents/${encodeURIComponent(documentId)}${query}${hash}`;
}

/** The passage's web page at its heading (#anchor, unless the address has a fragment already), else its document page. */
export function passageLink(
  origin: string,
  p: { url: string | null; documentId: string; chunkId: string; anchor: string | null },
): string {
  const web = webPage(p.url);
  if (!web) return documentPage(origin, p.documentId, p.chunkId, p.anchor);
  return p.anchor && !web.includes("#") ? `${web}#${encodeURIComponent(p.anchor)}` : web;
}
