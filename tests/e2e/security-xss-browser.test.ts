// Script in wiki content, rendered by components/markdown.tsx exactly as a page does (React server
// rendering), then loaded in real Chromium with the app's security headers: nothing in it may run —
// not on load, not on hover, not on click.
import { createServer, type Server } from "node:http";
import type { Browser } from "playwright-core";
import { createElement } from "react";
import { renderToString } from "react-dom/server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MarkdownContent } from "@/components/markdown";
import { PassageList } from "@/components/evaluations/passage-list";
import { SECURITY_HEADERS } from "@/lib/http/security-headers";
import { launchBrowser } from "@/tests/helpers/browser";

const HOSTILE = `# Holiday policy

Twenty five days. <script>window.__xss = "script tag"</script>

<img src="x" onerror="window.__xss = 'img onerror'">

<a href="javascript:window.__xss='raw link'">raw html link</a>

[click me](javascript:window.__xss='md-link')
[click me too](JAVASCRIPT:window.__xss='md-link-upper')
[data link](data:text/html,<script>parent.__xss='data'</script>)
<javascript:window.__xss='autolink'>

![pixel](javascript:window.__xss='img')

<iframe src="javascript:parent.__xss='iframe'"></iframe>
<svg><script>window.__xss='svg'</script></svg>
<div onmouseover="window.__xss='hover'">hover me</div>
<details open ontoggle="window.__xss='toggle'">x</details>

| a | b |
|---|---|
| <b onclick="window.__xss='cell'">cell</b> | ok |
`;

// Passage and source addresses come from sources (a Notion page URL, an S3 key, an external output's
// passages sent through the API): only http(s) ones may become links.
const HOSTILE_PASSAGES = [
  { title: "plain script", url: "javascript:window.__xss='passage'", text: "one" },
  { title: "upper case", url: "JAVASCRIPT:window.__xss='passage-upper'", text: "two" },
  { title: "leading blank", url: " javascript:window.__xss='passage-blank'", text: "three" },
  { title: "tab inside", url: "java\tscript:window.__xss='passage-tab'", text: "four" },
  { title: "data", url: "data:text/html,<script>parent.__xss='passage-data'</script>", text: "five" },
  { title: "s3 object", url: "s3://bucket/key.md", text: "six" },
  { title: "Wiki page", url: "https://wiki.example/page", text: "seven" },
];

describe("wiki content with script, in the browser", () => {
  let browser: Browser;
  let server: Server;
  let url = "";
  beforeAll(async () => {
    const body = renderToString(createElement(MarkdownContent, { children: HOSTILE }));
    const passages = renderToString(createElement(PassageList, { passages: HOSTILE_PASSAGES }));
    server = createServer((req, res) => {
      for (const h of SECURITY_HEADERS) res.setHeader(h.key, h.value);
      res.setHeader("content-type", "text/html; charset=utf-8");
      res.end(`<!doctype html><html><head><script>window.__xss = null</script></head><body>${req.url === "/passages" ? passages : body}</body></html>`);
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
    url = `http://127.0.0.1:${(server.address() as { port: number }).port}/`;
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await new Promise((r) => server?.close(r));
  });

  it("shows the text but runs nothing, whatever the reader does", async () => {
    const page = await browser.newPage();
    const dialogs: string[] = [];
    page.on("dialog", (d) => {
      dialogs.push(d.message());
      void d.dismiss();
    });
    await page.goto(url);
    await expect(page.getByRole("heading", { name: "Holiday policy" }).isVisible()).resolves.toBe(true);
    expect(await page.textContent("body")).toContain("Twenty five days.");
    // No element from the content carries script: no script/iframe/svg, no on* attribute, no javascript: URL.
    const found = await page.evaluate(() => {
      const root = document.querySelector("[data-markdown]")!;
      const bad: string[] = [];
      for (const el of Array.from(root.querySelectorAll("*"))) {
        if (/^(script|iframe|svg|object|embed|img)$/i.test(el.tagName)) bad.push(el.tagName);
        for (const a of Array.from(el.attributes)) {
          if (/^on/i.test(a.name) || /^\s*(javascript|data|vbscript):/i.test(a.value)) bad.push(`${el.tagName}[${a.name}=${a.value}]`);
        }
      }
      return bad;
    });
    expect(found).toEqual([]);
    // Hover and click everything that could react.
    for (const el of await page.locator("[data-markdown] a, [data-markdown] span, [data-markdown] div, [data-markdown] b, [data-markdown] td").all()) {
      await el.hover({ timeout: 2000 }).catch(() => {});
      await el.click({ timeout: 2000, noWaitAfter: true, modifiers: [] }).catch(() => {});
    }
    await page.waitForTimeout(300);
    if (page.url() !== url) await page.goto(url);
    expect(await page.evaluate(() => (window as unknown as { __xss: unknown }).__xss)).toBeNull();
    expect(dialogs).toEqual([]);
  });

  it("sends the security headers a browser enforces: no framing by other sites", async () => {
    const page = await browser.newPage();
    const res = await page.goto(url);
    const headers = res!.headers();
    expect(headers["content-security-policy"]).toContain("frame-ancestors 'none'");
    expect(headers["content-security-policy"]).toContain("object-src 'none'");
    expect(headers["x-content-type-options"]).toBe("nosniff");
    expect(headers["referrer-policy"]).toBe("same-origin");
  });

  it("shows passage addresses as links only when they are http(s) pages, and runs nothing when clicked", async () => {
    const page = await browser.newPage();
    const dialogs: string[] = [];
    page.on("dialog", (d) => {
      dialogs.push(d.message());
      void d.dismiss();
    });
    await page.goto(url + "passages");
    expect(await page.getByTestId("passage-list").textContent()).toContain("plain script");
    const links = await page.evaluate(() => Array.from(document.querySelectorAll("[data-testid=passage-list] a")).map((a) => (a as HTMLAnchorElement).href));
    expect(links).toEqual(["https://wiki.example/page"]);
    for (const title of HOSTILE_PASSAGES.slice(0, -1).map((p) => p.title)) {
      await page.getByText(title).click({ timeout: 2000, noWaitAfter: true }).catch(() => {});
    }
    await page.waitForTimeout(300);
    expect(page.url()).toBe(url + "passages");
    expect(await page.evaluate(() => (window as unknown as { __xss: unknown }).__xss)).toBeNull();
    expect(dialogs).toEqual([]);
  });
});
