// Where a cited source opens: its web page (new tab) for http(s) addresses, otherwise the app's
// document page at the cited chunk; never a javascript:/demo:/s3: address as a link.
import { describe, expect, it } from "vitest";
import { documentHref, sourceLink, sourceLinkProps, webUrl } from "@/components/ask/source-link";

const base = { documentId: "d0c00000-0000-4000-8000-000000000001", chunkId: "c4c00000-0000-4000-8000-000000000002", anchor: "rolling-back" };

describe("sourceLink", () => {
  it("opens http(s) pages outside the app in a new tab", () => {
    const link = sourceLink({ ...base, url: "https://www.notion.so/page#block" });
    expect(link).toEqual({ href: "https://www.notion.so/page#block", external: true });
    expect(sourceLinkProps(link)).toEqual({ href: "https://www.notion.so/page#block", target: "_blank", rel: "noopener noreferrer" });
  });

  it("opens demo://, s3://, missing and script addresses on the document page at the chunk", () => {
    for (const url of ["demo://kestrel-wiki/howto-deploy#rolling-back", "s3://bucket/a.md", null, "javascript:alert(1)"]) {
      const link = sourceLink({ ...base, url });
      expect(link, String(url)).toEqual({ href: `/documents/${base.documentId}?chunk=${base.chunkId}#rolling-back`, external: false });
      expect(sourceLinkProps(link)).toEqual({ href: link!.href });
    }
    expect(sourceLink({ ...base, anchor: null, url: null })!.href).toBe(`/documents/${base.documentId}?chunk=${base.chunkId}`);
  });

  it("gives no link for a stored source without a document id", () => {
    expect(sourceLink({ ...base, documentId: "", url: "demo://x" })).toBeUndefined();
    expect(sourceLinkProps(undefined)).toEqual({});
  });

  it("escapes what goes into the path, query and fragment", () => {
    expect(documentHref("a/b", "c&d", "e f")).toBe("/documents/a%2Fb?chunk=c%26d#e%20f");
  });
});

describe("webUrl: the one rule for stored addresses shown as links", () => {
  it("keeps http(s) pages, normalised", () => {
    expect(webUrl("https://www.notion.so/page#block")).toBe("https://www.notion.so/page#block");
    expect(webUrl("HTTP://Wiki.Example/a b")).toBe("http://wiki.example/a%20b");
  });

  it("refuses every other scheme and every spelling a browser would still run", () => {
    for (const url of [
      "javascript:alert(1)", "JavaScript:alert(1)", " javascript:alert(1)", "\tjavascript:alert(1)", "java\nscript:alert(1)", "\u0001javascript:alert(1)",
      "data:text/html,<script>alert(1)</script>", "vbscript:msgbox(1)", "demo://wiki/x", "s3://bucket/key", "file:///etc/passwd", "//evil.example/x",
      "/documents/1", " https://example.com", "\nhttps://example.com", "https:example.com", "http://", "", null, undefined,
    ]) {
      expect(webUrl(url), JSON.stringify(url)).toBeUndefined();
    }
  });
});

