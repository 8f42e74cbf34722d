// The document page (/documents/[id]) on the built app (real server, PostgreSQL, the demo wiki with its
// demo:// addresses, the fake Ollama) with Chromium: a citation of a demo-wiki source opens the page
// inside the app with the cited passage marked and in view; a document the user may not read, a deleted
// one and a malformed id all answer the ordinary not-found page.
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningApp } from "@/tests/helpers/app";
import { signIn, type TestUser } from "@/tests/helpers/auth";
import { startDemoWikiApp, type DemoWikiApp } from "@/tests/e2e/demo-wiki-app";

const QUESTION = "How long does the canary watch the error rate?";
const DOC_HREF = /^\/documents\/([0-9a-f-]{36})\?chunk=([0-9a-f-]{36})(#[\w-]+)?$/;

/** Whether the element's box lies (at least partly) inside the visible part of the page. */
const inViewport = (page: Page, selector: string) =>
  page.evaluate((sel) => {
    const r = document.querySelector(sel)!.getBoundingClientRect();
    return r.bottom > 0 && r.top < window.innerHeight;
  }, selector);

describe("Document page (built app, PostgreSQL, demo wiki, fake Ollama)", () => {
  let app: RunningApp;
  let browser: Browser;
  let user: TestUser;
  let page: Page;

  let demo: DemoWikiApp;
  beforeAll(async () => {
    demo = await startDemoWikiApp({ tokenDelayMs: 5 });
    ({ app, user, browser, page } = demo);
  }, 600_000);
  afterAll(() => demo?.stop());

  it("opens a demo-wiki citation on the document page with the cited passage highlighted", async () => {
    await page.goto(`${app.baseUrl}/`);
    await page.getByLabel("Question").fill(QUESTION);
    await page.getByLabel("Question").press("Enter");
    await page.locator('[data-testid="answer"][data-state="done"]').waitFor({ timeout: 60_000 });
    const citation = page.getByTestId("answer").last().getByTestId("citation").first();
    const href = (await citation.getAttribute("href")) ?? "";
    const [, documentId, chunkId] = DOC_HREF.exec(href) ?? [];
    expect(documentId, href).toBeTruthy();
    expect(await citation.getAttribute("target")).toBeNull(); // same tab: it is a page of this app
    const doc = await app.db!.prisma.document.findUniqueOrThrow({ where: { id: documentId }, include: { collection: true } });
    expect(doc.url).toMatch(/^demo:\/\//);
    // The sources panel links the same source the same way.
    const panelHrefs = await page.getByTestId("sources-panel").getByTestId("source-link").evaluateAll((as) => as.map((a) => a.getAttribute("href")));
    expect(panelHrefs).toContain(href);

    await Promise.all([page.waitForURL((u) => u.pathname === `/documents/${documentId}`), citation.click()]);
    await page.getByTestId("document").waitFor();
    expect(await page.getByRole("heading", { level: 1 }).textContent()).toBe(doc.title); // once: the page's own "# title" is not repeated
    expect(await page.getByTestId("document-collection").textContent()).toBe(doc.collection.name);
    expect(await page.getByTestId("document-original").count()).toBe(0); // demo:// is no web page

    const cited = page.locator('[data-cited="true"]');
    expect(await cited.count()).toBe(1);
    expect(await cited.getAttribute("data-chunk-id")).toBe(chunkId);
    expect(await cited.textContent()).toMatch(/canary/i);
    expect(await cited.textContent()).toMatch(/Cited passage/);
    const ring = await cited.evaluate((el) => getComputedStyle(el).boxShadow);
    expect(ring).not.toBe("none");
    expect(await inViewport(page, '[data-cited="true"]')).toBe(true);
    // The whole document is there, chunk by chunk in order, rendered as markdown.
    const chunks = await app.db!.prisma.chunk.findMany({ where: { documentId }, orderBy: { position: "asc" }, select: { id: true } });
    const shown = await page.getByTestId("document-chunk").evaluateAll((els) => els.map((e) => e.getAttribute("data-chunk-id")));
    expect(shown).toEqual(chunks.map((c) => c.id));
    expect(await page.locator('[data-testid="document-chunk"] table').count()).toBeGreaterThan(0); // the deploy windows table
  });

  it("scrolls a cited passage further down the page into view", async () => {
    const ctx = await browser.newContext({ viewport: { width: 800, height: 400 } });
    const p = await ctx.newPage();
    await signIn(p, app.baseUrl, user);
    const doc = await app.db!.prisma.document.findFirstOrThrow({
      where: { url: { startsWith: "demo://" } },
      orderBy: { chunks: { _count: "desc" } },
      include: { chunks: { orderBy: { position: "desc" }, take: 1 } },
    });
    const last = doc.chunks[0]!;
    await p.goto(`${app.baseUrl}/documents/${doc.id}?chunk=${last.id}`);
    await p.waitForFunction(() => window.scrollY > 0);
    expect(await p.locator('[data-cited="true"]').getAttribute("data-chunk-id")).toBe(last.id);
    expect(await inViewport(p, '[data-cited="true"]')).toBe(true);
    await ctx.close();
  });

  it("answers not-found for a collection the user may not read, a deleted document and a malformed id", async () => {
    const db = app.db!;
    const col = await db.prisma.collection.create({ data: { slug: "board", name: "Board", restricted: true } });
    const src = await db.prisma.source.create({ data: { collectionId: col.id, kind: "upload", name: "board" } });
    const secret = await db.prisma.document.create({
      data: { collectionId: col.id, sourceId: src.id, externalId: "minutes", title: "Board minutes", contentHash: "h-minutes" },
    });
    await db.prisma.chunk.create({ data: { documentId: secret.id, collectionId: col.id, position: 0, text: "Acquisition talks.", tokenCount: 4, contentHash: "c-minutes" } });
    const gone = await db.prisma.document.findFirstOrThrow({ where: { url: { startsWith: "demo://" } } });

    const notFound = async (path: string) => {
      const res = await page.goto(`${app.baseUrl}${path}`);
      const body = (await page.textContent("body")) ?? "";
      expect(res?.status(), path).toBe(404);
      expect(body, path).toMatch(/could not be found/i);
      expect(body, path).not.toMatch(/Board minutes|Acquisition/);
    };
    await notFound(`/documents/${secret.id}`);
    await notFound(`/documents/${secret.id}?chunk=${secret.id}`);
    await notFound(`/documents/not-a-uuid`);
    await notFound(`/documents/00000000-0000-4000-8000-000000000000`);

    // The same page opens once the user is a member (so the 404 above was the access rule).
    await db.prisma.collectionMember.create({ data: { collectionId: col.id, userId: user.id } });
    const ok = await page.goto(`${app.baseUrl}/documents/${secret.id}`);
    expect(ok?.status()).toBe(200);
    expect(await page.getByRole("heading", { level: 1 }).textContent()).toBe("Board minutes");

    // A deleted document is gone for everyone.
    const before = await page.goto(`${app.baseUrl}/documents/${gone.id}`);
    expect(before?.status()).toBe(200);
    await db.prisma.document.update({ where: { id: gone.id }, data: { deletedAt: new Date() } });
    await notFound(`/documents/${gone.id}`);
  });
});
