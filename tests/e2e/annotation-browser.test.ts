// In a real browser on the real server: a run started from the Evaluations page goes through the queue
// and the workers, shows on the trend chart with the 4.0 target line and on its detail page; an evaluator
// skips and scores items in the annotation queue with the keyboard, and the agreement figures change.
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startApp, type RunningApp } from "@/tests/helpers/app";
import { makeApiKey, makeUser, signIn, type TestUser } from "@/tests/helpers/auth";
import { launchBrowser } from "@/tests/helpers/browser";
import { fakeJudge } from "@/tests/fakes/judge-fake";
import { startFakeOllama, type FakeOllama } from "@/tests/fakes/ollama";

let app: RunningApp;
let ollama: FakeOllama;
let browser: Browser;
let page: Page;
let evaluator: TestUser;
let headers: Record<string, string>;

const passages = [{ text: "The office opens at 08:00 and closes at 18:00. Visitors sign in at reception.", title: "Office" }];

async function scoreViaApi(question: string, output: string) {
  const res = await fetch(`${app.baseUrl}/api/evaluate/score`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify({ question, output, passages }),
  });
  expect(res.status).toBe(200);
  return res.json();
}

beforeAll(async () => {
  ollama = await startFakeOllama({ onChat: fakeJudge() });
  app = await startApp({ env: { OLLAMA_HOST: ollama.url } });
  evaluator = await makeUser(app.db!, "evaluator");
  headers = (await makeApiKey(app.db!, ["score"], { creator: evaluator })).headers;
  browser = await launchBrowser();
  page = await browser.newPage();
  await signIn(page, app.baseUrl, evaluator);
});
afterAll(async () => {
  await browser?.close();
  await app?.stop();
  await ollama?.close();
});

describe("Evaluations pages", () => {
  it("starts a run from the page; the worker completes it; the trend chart and run detail show it", async () => {
    const ds = await fetch(`${app.baseUrl}/api/datasets`, {
      method: "POST",
      headers: { "content-type": "application/json", ...headers },
      body: JSON.stringify({ name: "Smoke", items: [{ question: "When does the office open?" }, { question: "Where do visitors sign in?" }] }),
    });
    expect(ds.status).toBe(201);
    await page.goto(`${app.baseUrl}/evaluations`);
    await page.getByRole("button", { name: "Start run" }).click();
    await page.waitForURL(/\/evaluations\/runs\/[0-9a-f-]{36}$/);
    await page.getByTestId("run-status").filter({ hasText: "completed" }).waitFor({ timeout: 60_000 });
    expect(await page.getByTestId("run-items").locator("tbody tr").count()).toBe(2);

    await page.goto(`${app.baseUrl}/evaluations`);
    expect(await page.getByTestId("trend-point").count()).toBe(1);
    expect(await page.getByTestId("trend-target").count()).toBe(1);
    expect(await page.getByTestId("runs-table").textContent()).toMatch(/Smoke v1.*completed/);
  });

  it("an evaluator skips and scores in the queue with the keyboard, and the agreement figures change", async () => {
    const first = await scoreViaApi("When does the office open?", "The office opens at 08:00.");
    await new Promise((r) => setTimeout(r, 20)); // distinct creation times: the newest comes first
    const second = await scoreViaApi("Who signs visitors in?", "Visitors sign in at reception. Parking is free.");

    await page.goto(`${app.baseUrl}/evaluations`);
    expect(await page.getByTestId("agreement-pairs").textContent()).toBe("0");

    await page.goto(`${app.baseUrl}/evaluations/queue`);
    const item = page.getByTestId("queue-item");
    await item.waitFor();
    // Run answers came first in time, the two scored outputs after: the newest is served first.
    expect(await item.getAttribute("data-target-id")).toBe(second.target.id);
    await page.keyboard.press("s");
    await page.waitForFunction((id) => document.querySelector("[data-testid=queue-item]")?.getAttribute("data-target-id") !== id, second.target.id);
    expect(await item.getAttribute("data-target-id")).toBe(first.target.id);
    expect(await page.getByTestId("queue-question").textContent()).toBe("When does the office open?");
    await page.keyboard.press("5");
    expect(await page.getByRole("radio", { name: "5" }).getAttribute("aria-checked")).toBe("true");
    await page.keyboard.press("Enter");
    await page.waitForFunction((id) => document.querySelector("[data-testid=queue-item]")?.getAttribute("data-target-id") !== id, first.target.id);

    await page.goto(`${app.baseUrl}/evaluations`);
    expect(await page.getByTestId("agreement-pairs").textContent()).toBe("1");
    // The judge gave 5 (one supported claim); so did the evaluator.
    expect(await page.getByTestId("agreement-exact").textContent()).toBe("100%");
    expect(await page.getByTestId("agreement-mae").textContent()).toBe("0.00");
    const stored = await app.db!.prisma.score.findFirstOrThrow({ where: { kind: "human", externalOutputId: first.target.id } });
    expect(stored).toMatchObject({ hallucinationScore: 5, userId: evaluator.id });
  });
});
