import { createElement } from "react";
import { renderToStaticMarkup } from "react-dom/server";
import { describe, expect, it } from "vitest";
import { MarkdownContent, safeUrl } from "@/components/markdown";

const render = (md: string) => renderToStaticMarkup(createElement(MarkdownContent, { children: md }));

describe("sanitized markdown", () => {
  it("renders ordinary wiki markdown (headings, lists, tables, links)", () => {
    const html = render("# Title\n\n- one\n- two\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n[Docs](https://wiki.example/page)");
    expect(html).toContain("<h1>Title</h1>");
    expect(html).toContain("<li>one</li>");
    expect(html).toContain("<table>");
    expect(html).toContain('href="https://wiki.example/page"');
    expect(html).toContain('rel="noopener noreferrer nofollow"');
  });

  it("drops raw HTML: script, event handlers, iframes, svg", () => {
    const html = render('Hi <script>alert(1)</script>\n\n<img src=x onerror="alert(2)">\n\n<iframe src="https://evil"></iframe>\n\n<svg onload=alert(3)>');
    expect(html).not.toMatch(/<script|onerror|<iframe|onload|<svg/i);
  });

  it("neutralises javascript:, vbscript: and data: links, including obfuscated ones", () => {
    for (const href of ["javascript:alert(1)", "JaVaScRiPt:alert(1)", " javascript:alert(1)", "vbscript:msgbox(1)", "data:text/html,<script>alert(1)</script>", "java\tscript:alert(1)"]) {
      const html = render(`[x](${href.replace(/ /g, "%20")}) <${href}>`);
      expect(html, href).not.toMatch(/href="\s*(java|vbscript|data)/i);
      expect(safeUrl(href), href).toBe("");
    }
    expect(safeUrl("/sources/1")).toBe("/sources/1");
    expect(safeUrl("#part")).toBe("#part");
    expect(safeUrl("mailto:a@b.c")).toBe("mailto:a@b.c");
  });

  it("shows images as links (no remote loads) and never with a javascript: source", () => {
    const html = render("![logo](https://cdn.example/l.png) ![bad](javascript:alert(1))");
    expect(html).not.toContain("<img");
    expect(html).toContain('href="https://cdn.example/l.png"');
    expect(html).not.toMatch(/javascript/i);
  });
});
