// The Ask page and POST /api/evaluate on the built app (real server, PostgreSQL, the demo wiki, the fake
// Ollama streaming at a fixed rate) with Chromium: streamed tokens, citation hover, sources, feedback,
// Enter/Shift+Enter, the no-model state, a phone-sized dark screen; and the API's two forms.
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningApp } from "@/tests/helpers/app";
import { makeApiKey, makeUser, signIn, type TestUser } from "@/tests/helpers/auth";
import { DEFAULT_FAKE_MODELS, type FakeOllama } from "@/tests/fakes/ollama";
import { startDemoWikiApp, type DemoWikiApp } from "@/tests/e2e/demo-wiki-app";

const QUESTION = "How long does the canary watch the error rate?";

async function readSseText(res: Response) {
  const text = await res.text();
  return text
    .split("\n\n")
    .filter(Boolean)
    .map((frame) => {
      const event = /^event: (.+)$/m.exec(frame)![1]!;
      const data = JSON.parse(/^data: (.+)$/m.exec(frame)![1]!);
      return { event, data };
    });
}

describe("Ask the wiki (built app, PostgreSQL, demo wiki, fake Ollama)", () => {
  let app: RunningApp;
  let browser: Browser;
  let ollama: FakeOllama;
  let user: TestUser;
  let page: Page;

  let demo: DemoWikiApp;
  beforeAll(async () => {
    demo = await startDemoWikiApp({
      tokenDelayMs: 60,
      // The demo pages carry demo:// addresses; give them web ones so citations open a page.
      afterSeed: (app) => app.db!.prisma.$executeRaw`UPDATE documents SET url = replace(url, 'demo://kestrel-wiki/', 'https://wiki.kestrel.example/')`,
    });
    ({ app, ollama, user, browser, page } = demo);
  }, 600_000);
  afterAll(() => demo?.stop());

  it("streams a cited answer on /, shows the passage on hover, lists sources and takes feedback", async () => {
    await page.goto(`${app.baseUrl}/`);
    await page.getByTestId("ask-empty").waitFor();
    await page.getByTestId("health-summary").waitFor(); // the status stays visible beside the chat
    const box = page.getByLabel("Question");
    await box.fill("first line");
    await box.press("Shift+Enter");
    await box.pressSequentially("second line");
    expect(await box.inputValue()).toBe("first line\nsecond line");
    expect(await page.getByTestId("turn").count()).toBe(0); // Shift+Enter did not send

    await box.fill(QUESTION);
    await box.press("Enter");
    const answer = page.getByTestId("answer").last();
    // Tokens arrive while the answer is still streaming.
    await page.waitForFunction(() => {
      const el = document.querySelector('[data-testid="answer"][data-state="streaming"] [data-testid="answer-text"]');
      return !!el && (el.textContent ?? "").length > 0;
    });
    const partial = (await answer.getByTestId("answer-text").textContent()) ?? "";
    await page.locator('[data-testid="answer"][data-state="done"]').waitFor({ timeout: 30_000 });
    const full = (await answer.getByTestId("answer-text").textContent()) ?? "";
    expect(full.length).toBeGreaterThan(partial.length);
    expect(full).toMatch(/10 minutes/);

    const citation = answer.getByTestId("citation").first();
    const tooltip = answer.getByTestId("citation-passage").first();
    expect(await tooltip.isVisible()).toBe(false);
    await citation.hover();
    await tooltip.waitFor({ state: "visible" });
    expect(await tooltip.textContent()).toMatch(/canary/i);
    expect(await citation.getAttribute("href")).toBe("https://wiki.kestrel.example/howto-deploy#deploying-tern");
    expect(await citation.getAttribute("target")).toBe("_blank");

    const panel = page.getByTestId("sources-panel");
    expect(await panel.textContent()).toMatch(/Deploying Tern/);

    // Thumbs down with a reason: stored with the answer's chunks.
    await answer.getByRole("button", { name: "Bad answer" }).click();
    await answer.getByLabel("Reason").selectOption("incomplete");
    await answer.getByLabel("Comment").fill("missing the rollback part");
    await answer.getByRole("button", { name: "Send feedback" }).click();
    await answer.getByTestId("feedback-thanks").waitFor();
    const fb = await app.db!.prisma.answerFeedback.findFirstOrThrow({ where: { userId: user.id } });
    expect(fb).toMatchObject({ rating: -1, reason: "incomplete", comment: "missing the rollback part" });
    expect(fb.chunkIds.length).toBeGreaterThan(0);

    // The conversation is kept for the user and listed.
    await page.goto(`${app.baseUrl}/`);
    expect(await page.getByTestId("conversation-list").textContent()).toContain(QUESTION);
  });

  it("shows the no-model state with cited passages when the chat model is missing", async () => {
    ollama.options.models = DEFAULT_FAKE_MODELS.filter((m) => m.includes("embed"));
    try {
      await page.goto(`${app.baseUrl}/`);
      await page.getByLabel("Question").fill("What are the deploy windows?");
      await page.getByLabel("Question").press("Enter");
      await page.locator('[data-testid="answer"][data-state="done"], [data-testid="answer"][data-state="error"]').waitFor({ timeout: 30_000 });
      const html = await page.getByTestId("answer").last().innerHTML();
      expect(await page.getByTestId("no-model").count(), html).toBe(1);
      expect(await page.getByTestId("answer").last().getByTestId("citation").count()).toBeGreaterThan(0);
    } finally {
      ollama.options.models = undefined;
    }
  });

  it("fits a phone-sized screen in dark mode", async () => {
    const ctx = await browser.newContext({ viewport: { width: 390, height: 844 }, colorScheme: "dark" });
    const phone = await ctx.newPage();
    await signIn(phone, app.baseUrl, user);
    await phone.goto(`${app.baseUrl}/`);
    await phone.getByLabel("Question").waitFor();
    const { scrollWidth, innerWidth, bg } = await phone.evaluate(() => ({
      scrollWidth: document.documentElement.scrollWidth,
      innerWidth: window.innerWidth,
      bg: getComputedStyle(document.querySelector("form textarea")!.closest("form")!).backgroundColor,
    }));
    expect(scrollWidth).toBeLessThanOrEqual(innerWidth);
    expect(bg).not.toBe("rgb(255, 255, 255)");
    await ctx.close();
  });

  it("gives the same sources in the streamed and the JSON form, and refuses bad input with a clear 4xx", async () => {
    const key = await makeApiKey(app.db!, ["ask"]);
    const ask = (body: unknown) =>
      fetch(`${app.baseUrl}/api/evaluate`, { method: "POST", headers: { ...key.headers, "content-type": "application/json" }, body: JSON.stringify(body) });

    const streamed = await ask({ question: QUESTION });
    expect(streamed.headers.get("content-type")).toMatch(/^text\/event-stream/);
    const events = await readSseText(streamed);
    expect(events[0]!.event).toBe("start");
    expect(events.map((e) => e.event)).toContain("token");
    expect(events.map((e) => e.event)).toContain("citation");
    const done = events.at(-1)!;
    expect(done.event).toBe("done");

    const json = await (await ask({ question: QUESTION, stream: false })).json();
    expect(json.answer).toBe(done.data.answer);
    expect(json.sources).toEqual(done.data.sources);
    expect(json.citations).toEqual(done.data.citations);
    expect(Object.keys(json.timings).sort()).toEqual(["embedMs", "firstTokenMs", "guardrailsMs", "rerankMs", "retrieveMs", "rewriteMs", "totalMs"]);

    const empty = await ask({ question: "  " });
    expect(empty.status).toBe(400);
    expect((await empty.json()).error.message).toMatch(/question must not be empty/);
    const badCollection = await ask({ question: "x", collections: ["nope"] });
    expect(badCollection.status).toBe(400);
    const unauth = await fetch(`${app.baseUrl}/api/evaluate`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
    expect(unauth.status).toBe(401);
  });

  it("shows admins every retrieval stage and the feedback, with CSV and JSONL export", async () => {
    const admin = await makeUser(app.db!, "admin");
    const ctx = await browser.newContext();
    const p = await ctx.newPage();
    await signIn(p, app.baseUrl, admin);
    await p.goto(`${app.baseUrl}/admin/retrieval?q=${encodeURIComponent("canary error rate")}`);
    for (const stage of ["stage-vector", "stage-text", "stage-fused", "stage-reranked"]) {
      expect(await p.getByTestId(stage).locator("li").count(), stage).toBeGreaterThan(0);
    }
    expect(await p.getByTestId("stage-text").locator("li").first().textContent()).toMatch(/Deploying Tern/);
    // The vector index against its settings (the defaults here: nothing to rebuild).
    const index = await p.getByTestId("vector-index").textContent();
    expect(index).toMatch(/HNSW, m 16, ef_construction 64, [\d.]+ (B|KiB|MiB|GiB)/);
    expect(index).toContain("Settings: m 16, ef_construction 64.");
    await p.goto(`${app.baseUrl}/admin/feedback`);
    expect(await p.getByTestId("feedback-list").textContent()).toMatch(/missing the rollback part/);
    await ctx.close();

    const key = await makeApiKey(app.db!, ["admin", "ask"]);
    const csv = await fetch(`${app.baseUrl}/api/feedback?format=csv`, { headers: key.headers });
    expect(csv.headers.get("content-type")).toMatch(/^text\/csv/);
    const lines = (await csv.text()).trim().split("\r\n");
    expect(lines[0]).toBe("id,created_at,rating,reason,comment,question,user,query_log_id,chunk_ids,chunk_titles");
    expect(lines[1]).toMatch(/"-1","incomplete","missing the rollback part"/);
    const jsonl = await (await fetch(`${app.baseUrl}/api/feedback?format=jsonl`, { headers: key.headers })).text();
    expect(JSON.parse(jsonl.trim().split("\n")[0]!)).toMatchObject({ rating: -1, reason: "incomplete" });
    const viewerKey = await makeApiKey(app.db!, ["ask"]);
    expect((await fetch(`${app.baseUrl}/api/feedback`, { headers: viewerKey.headers })).status).toBe(403);
  });
});
