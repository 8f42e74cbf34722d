// Where a cited source opens: its web page when it has an http(s) address (a new tab), otherwise the
// app's own document page at the cited chunk (demo://, s3:// and uploaded documents have no web page).
// The one rule for answer citations and the sources panel.
import type { Source } from "./types";

export interface SourceLink {
  href: string;
  /** A web page outside the app: open in a new tab. */
  external: boolean;
}

/**
 * The one rule for showing a stored address (a source's or passage's URL) as a link: only http(s) web
 * pages, spelled out from the first character (no leading blanks or control characters a browser would
 * skip) and parsable; the normalised form is returned. Anything else (demo://, s3://, javascript:,
 * data:) is never a link.
 */
export function webUrl(url: string | null | undefined): string | undefined {
  if (typeof url !== "string" || !/^https?:\/\//i.test(url)) return undefined;
  try {
    const u = new URL(url);
    return u.protocol === "http:" || u.protocol === "https:" ? u.href : undefined;
  } catch {
    return undefined;
  }
}

/** The app's document page for a chunk: /documents/<id>?chunk=<chunkId>#<anchor>. */
export function documentHref(documentId: string, chunkId?: string | null, anchor?: string | null): string {
  const query = chunkId ? `?chunk=${encodeURIComponent(chunkId)}` : "";
  const hash = anchor ? `#${encodeURIComponent(anchor)}` : "";
  return `/documents/${encodeURIComponent(documentId)}${query}${hash}`;
}

export function sourceLink(source: Pick<Source, "url" | "documentId" | "chunkId" | "anchor">): SourceLink | undefined {
  const web = webUrl(source.url);
  if (web) return { href: web, external: true };
  // Answers stored before documentId was sent have none: shown without a link.
  if (!source.documentId) return undefined;
  return { href: documentHref(source.documentId, source.chunkId, source.anchor), external: false };
}

/** Props for an <a> opening the source (target/rel only for external pages). */
export function sourceLinkProps(link: SourceLink | undefined): { href?: string; target?: string; rel?: string } {
  if (!link) return {};
  return link.external ? { href: link.href, target: "_blank", rel: "noopener noreferrer" } : { href: link.href };
}
