// Every page of the app, signed in as an administrator with data on every page (the demo wiki, an answered
// question with feedback, a dataset with a judged run, a key, a backup, a schedule), in Chromium on a
// 390 px wide phone: no page may scroll sideways (a table scrolls inside itself instead). The pages are
// discovered from app/, so a new page is covered without editing this file; a new page with an [id] in
// its path needs an example id below, and the test says so.
// At 1280 px the Ask page with an answer is the README's screenshot: UPDATE_SCREENSHOT=1 rewrites
// docs/screenshot.png.
import { existsSync, mkdirSync } from "node:fs";
import path from "node:path";
import type { BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fakeJudge } from "@/tests/fakes/judge-fake";
import { discoverPages } from "@/tests/helpers/app-surface";
import { makeUser, signIn, type TestUser } from "@/tests/helpers/auth";
import { ask, completedRun, dataset, feedback, firstAdmin, apiKey, type Api } from "@/tests/helpers/factories";
import { sendOk, type Caller } from "@/tests/helpers/http";
import { startDemoWikiApp, type DemoWikiApp } from "@/tests/e2e/demo-wiki-app";

const QUESTION = "How long does the canary watch the error rate?";
const SCREENSHOT = path.resolve(import.meta.dirname, "..", "..", "docs", "screenshot.png");

/** What overflows the viewport sideways: the page's scroll width, and the widest elements not inside a scroll box. */
async function overflow(page: Page) {
  return page.evaluate(() => {
    const width = window.innerWidth;
    const scrollsItself = (el: Element | null): boolean => {
      for (let e = el?.parentElement ?? null; e && e !== document.body; e = e.parentElement) {
        if (["auto", "scroll", "hidden", "clip"].includes(getComputedStyle(e).overflowX)) return true;
      }
      return false;
    };
    const culprits = [...document.body.querySelectorAll("*")]
      .filter((el) => {
        const r = el.getBoundingClientRect();
        return r.width > 0 && r.right > width + 1 && !scrollsItself(el) && getComputedStyle(el).position !== "fixed";
      })
      .slice(0, 5)
      .map((el) => `<${el.tagName.toLowerCase()} class="${(el.getAttribute("class") ?? "").slice(0, 80)}"> right=${Math.round(el.getBoundingClientRect().right)}`);
    return { scrollWidth: document.documentElement.scrollWidth, innerWidth: width, culprits };
  });
}

describe("every page fits a phone (390 px) with data present", () => {
  let demo: DemoWikiApp;
  let admin: TestUser;
  let phone: BrowserContext;
  const examples = new Map<string, string>();

  beforeAll(async () => {
    demo = await startDemoWikiApp({ tokenDelayMs: 0 });
    const { app, ollama } = demo;
    ollama.options.onChat = fakeJudge();
    const api: Api = { baseUrl: app.baseUrl, db: app.db! };
    const adminCaller: Caller = await firstAdmin(api, "admin");
    admin = await makeUser(app.db!, "admin");

    const demoCollection = await app.db!.prisma.collection.findFirstOrThrow({ select: { id: true } });
    const document = await app.db!.prisma.document.findFirstOrThrow({ where: { deletedAt: null }, select: { id: true } });
    const answered = await ask(api, adminCaller, { question: QUESTION });
    await feedback(api, adminCaller, { queryLogId: answered.queryLogId, rating: -1, comment: "It left out what happens after the canary stage." });
    const ds = await dataset(api, adminCaller, {
      name: "Release questions",
      collectionIds: [demoCollection.id],
      items: [{ question: QUESTION, referenceAnswer: "The canary watches the error rate for 30 minutes." }, { question: "Who approves a production deploy?" }],
    });
    const run = await completedRun(api, adminCaller, ds.id);
    await apiKey(api, adminCaller, { name: "nightly export script", scopes: ["ask"] });
    await sendOk(app.baseUrl, adminCaller, "POST", "/api/backups", {}, [200, 201, 202]);
    // The schedules page lists it; disabled, so it never runs during the test.
    const schedule = await app.db!.prisma.schedule.create({
      data: { name: "Nightly evaluation of the release questions", targetKind: "evaluation_run", targetConfig: { datasetId: ds.id }, enabled: false, intervalMinutes: 1440, runAsUserId: admin.id },
    });

    examples.set("/documents/[id]", `/documents/${document.id}`);
    examples.set("/evaluations/datasets/[id]", `/evaluations/datasets/${ds.id}`);
    examples.set("/evaluations/runs/[id]", `/evaluations/runs/${run.id}`);
    examples.set("/schedules/[id]", `/schedules/${schedule.id}`);
    examples.set("/admin/retrieval", `/admin/retrieval?q=${encodeURIComponent(QUESTION)}`);

    phone = await demo.browser.newContext({ viewport: { width: 390, height: 844 } });
    await signIn(await phone.newPage(), app.baseUrl, admin);
  }, 600_000);

  afterAll(async () => {
    await phone?.close();
    await demo?.stop();
  });

  it("asks on the phone: the answer, its citations and sources stay inside the screen", async () => {
    const page = await phone.newPage();
    await page.goto(`${demo.app.baseUrl}/`);
    await page.getByLabel("Question").fill(QUESTION);
    await page.getByLabel("Question").press("Enter");
    await page.locator('[data-testid="answer"][data-state="done"]').waitFor({ timeout: 60_000 });
    expect(await page.getByTestId("citation").count()).toBeGreaterThan(0);
    expect(await page.getByTestId("source-link").count()).toBeGreaterThan(0);
    const o = await overflow(page);
    expect(o.scrollWidth, o.culprits.join("\n")).toBeLessThanOrEqual(o.innerWidth);
    // The feedback thumbs are drawn (SVG), not emoji that a machine without an emoji font shows as boxes.
    const thumbs = page.getByRole("button", { name: "Good answer" }).locator("svg");
    expect(await thumbs.count()).toBe(1);
    expect((await thumbs.boundingBox())!.width).toBeGreaterThan(8);
    await page.close();
  }, 120_000);

  it("visits every page: none scrolls sideways", async () => {
    const pages = discoverPages().map((p) => p.pattern);
    const missing = pages.filter((p) => p.includes("[") && !examples.has(p));
    expect(missing, "pages with an [id] that this test has no example for: add one in beforeAll").toEqual([]);
    const signedOut = new Set(["/signin", "/setup"]);
    const visited: string[] = [];
    for (const pattern of pages) {
      const url = examples.get(pattern) ?? pattern;
      const context = signedOut.has(pattern) ? await demo.browser.newContext({ viewport: { width: 390, height: 844 } }) : phone;
      const page = await context.newPage();
      const res = await page.goto(`${demo.app.baseUrl}${url}`, { waitUntil: "networkidle" });
      expect(res?.status(), `${url} answered ${res?.status()}`).toBeLessThan(400);
      const landed = new URL(page.url()).pathname;
      // Every signed-in page renders for an admin (/setup, done once, sends to sign-in).
      if (!signedOut.has(pattern)) expect(landed, `${url} redirected`).toBe(url.split("?")[0]);
      const o = await overflow(page);
      expect(o.scrollWidth, `${url} is ${o.scrollWidth} px wide on a ${o.innerWidth} px screen:\n${o.culprits.join("\n")}`).toBeLessThanOrEqual(o.innerWidth);
      visited.push(url);
      await page.close();
      if (context !== phone) await context.close();
    }
    expect(visited.length).toBe(pages.length);
    expect(visited).toEqual(expect.arrayContaining(["/", "/sources", "/evaluations", "/schedules", "/admin/keys", "/connect"]));
  }, 400_000);

  it("at 1280 px the Ask page with an answer fits, and is the README's screenshot (UPDATE_SCREENSHOT=1 rewrites it)", async () => {
    const desk = await demo.browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await desk.newPage();
    await signIn(page, demo.app.baseUrl, admin);
    await page.goto(`${demo.app.baseUrl}/`);
    await page.getByLabel("Question").fill(QUESTION);
    await page.getByLabel("Question").press("Enter");
    await page.locator('[data-testid="answer"][data-state="done"]').waitFor({ timeout: 60_000 });
    const o = await overflow(page);
    expect(o.scrollWidth, o.culprits.join("\n")).toBeLessThanOrEqual(o.innerWidth);
    if (process.env.UPDATE_SCREENSHOT === "1") {
      mkdirSync(path.dirname(SCREENSHOT), { recursive: true });
      await page.screenshot({ path: SCREENSHOT });
    }
    expect(existsSync(SCREENSHOT), "docs/screenshot.png is missing: run this test with UPDATE_SCREENSHOT=1").toBe(true);
    await desk.close();
  }, 120_000);
});
