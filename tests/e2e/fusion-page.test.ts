// Admin → Fusion weights on the built app (real server, PostgreSQL, Chromium): an admin learns a
// collection's weights from a dataset on the page, sees the chart and the before/after figures, saves
// them, and the app's searches follow; the same from the command line (npm run tune:retrieval); the API
// refuses non-admins and names bad input.
import { execFile } from "node:child_process";
import path from "node:path";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDataset } from "@/lib/evaluate/datasets";
import { loadChunks } from "@/scripts/bench/lib";
import { fakeEmbedding, startFakeOllama, type FakeOllama } from "@/tests/fakes/ollama";
import { startApp, type RunningApp } from "@/tests/helpers/app";
import { accessOf, makeApiKey, makeUser, signIn } from "@/tests/helpers/auth";
import { launchBrowser } from "@/tests/helpers/browser";

const ROOT = path.resolve(import.meta.dirname, "..", "..");
const TOPICS = ["payroll", "laptops", "holidays", "expenses", "security", "onboarding", "parking", "travel", "pensions", "printing"];
const text = (t: string) => `The ${t} policy. Everything about ${t}: who decides on ${t} and how ${t} requests are handled.`;

let ollama: FakeOllama;
let app: RunningApp;
let browser: Browser;
let collectionId: string;
let datasetName: string;
let adminEmail: string;

beforeAll(async () => {
  ollama = await startFakeOllama();
  app = await startApp({ env: { OLLAMA_HOST: ollama.url, DEMO_WIKI: "false" } });
  browser = await launchBrowser();
  // Per topic, the policy page (no embedding: full text alone finds it) and a short memo whose embedding
  // is the question's own: the memo is first by vectors and second by words, so plain RRF ranks it above
  // the policy, and full text alone puts the policy first.
  collectionId = (
    await loadChunks(
      app.db!,
      TOPICS.flatMap((t) => [
        { externalId: `p-${t}`, title: `Policy ${t}`, text: text(t), embedding: null },
        { externalId: `m-${t}`, title: `Memo ${t}`, text: `Memo about ${t}.`, embedding: fakeEmbedding(`who decides on ${t}`) },
      ]),
      { collectionSlug: "policies" },
    )
  ).collectionId;
}, 300_000);
afterAll(async () => {
  await browser?.close();
  await app?.stop();
  await ollama?.close();
});

describe("fusion weights API", () => {
  it("is for admins only, and names bad input", async () => {
    expect((await fetch(`${app.baseUrl}/api/admin/retrieval/fusion`)).status).toBe(401);
    const score = await makeApiKey(app.db!, ["score"]);
    expect((await fetch(`${app.baseUrl}/api/admin/retrieval/fusion`, { headers: score.headers })).status).toBe(403);
    const admin = await makeApiKey(app.db!, ["admin"]);
    const put = (body: unknown) => fetch(`${app.baseUrl}/api/admin/retrieval/fusion`, { method: "PUT", headers: { ...admin.headers, "content-type": "application/json" }, body: JSON.stringify(body) });
    const zero = await put({ collectionId, vectorWeight: 0, textWeight: 0, candidates: null });
    expect(zero.status).toBe(400);
    expect(JSON.stringify(await zero.json())).toContain("at least one weight must be above 0");
    const few = await put({ collectionId, vectorWeight: 1, textWeight: 1, candidates: 2 });
    expect(few.status).toBe(400);
    expect(JSON.stringify(await few.json())).toContain("candidates");
    const post = await fetch(`${app.baseUrl}/api/admin/retrieval/fusion`, { method: "POST", headers: { ...admin.headers, "content-type": "application/json" }, body: JSON.stringify({ collectionId, datasetId: "nope" }) });
    expect(post.status).toBe(400);
    expect(JSON.stringify(await post.json())).toContain("must be a dataset id");
  });
});

describe("Admin → Fusion weights page", () => {
  it("learns the weights from a dataset, shows what every weighting scored, and saves the learned one", async () => {
    const user = await makeUser(app.db!, "admin");
    adminEmail = user.email;
    datasetName = "policy questions";
    await createDataset(await accessOf(app.db!, user), {
      name: datasetName,
      items: TOPICS.map((t) => ({ question: `who decides on ${t}`, expectedSources: [`p-${t}`] })),
    } as Parameters<typeof createDataset>[1]);
    const page = await browser.newPage();
    try {
      await signIn(page, app.baseUrl, user);
      await page.goto(`${app.baseUrl}/admin/retrieval/fusion`);
      await page.getByRole("row", { name: /policies/ }).getByText("equal (plain RRF)").waitFor();
      const form = page.getByRole("form", { name: "Learn fusion weights" });
      await form.getByLabel("Collection").selectOption({ label: "policies" });
      await form.getByLabel("Evaluation dataset").selectOption({ label: `${datasetName} (${TOPICS.length} items)` });
      await form.getByRole("button", { name: "Learn weights" }).click();
      const report = page.getByRole("region", { name: "Tuning result" });
      await report.waitFor({ timeout: 60_000 });
      expect(await report.textContent()).toContain(`${TOPICS.length} questions of “${datasetName}”`);
      const now = Number(await report.getByRole("row", { name: /^Now/ }).locator("td").nth(3).textContent());
      const learned = Number(await report.getByRole("row", { name: /^Learned/ }).locator("td").nth(3).textContent());
      expect(learned).toBeGreaterThan(now);
      // The chart: one line per candidate count, the current and learned points.
      expect(await report.locator("svg polyline").count()).toBe(3);
      expect(await report.locator("svg circle").count()).toBe(2);
      await report.getByRole("button", { name: "Save the learned weights" }).click();
      await page.getByRole("status").filter({ hasText: "Saved" }).waitFor();
      await page.getByRole("row", { name: /policies/ }).getByText(`${datasetName}, ${TOPICS.length} questions`).waitFor();
      const saved = await app.db!.prisma.collection.findUniqueOrThrow({ where: { id: collectionId } });
      expect(saved.fusionVectorWeight).toBeLessThan(saved.fusionTextWeight);
      const audit = await app.db!.prisma.auditLog.findFirst({ where: { action: "collection.fusion", target: `collection:${collectionId}` } });
      expect(audit).not.toBeNull();
      // What the app answers with now: the right page first for a question the vectors get wrong.
      const ask = await makeApiKey(app.db!, ["ask"]);
      const res = await fetch(`${app.baseUrl}/api/evaluate`, {
        method: "POST",
        headers: { ...ask.headers, "content-type": "application/json" },
        body: JSON.stringify({ question: "who decides on parking", collections: [collectionId], stream: false }),
      });
      const body = (await res.json()) as { sources: Array<{ title: string }> };
      expect(body.sources[0]!.title).toBe("Policy parking");
    } finally {
      await page.close();
    }
  });

  it("does the same from the command line (npm run tune:retrieval)", async () => {
    // Asynchronously: the fake Ollama the command embeds with runs in this process.
    const cli = (...args: string[]) =>
      new Promise<{ status: number; stdout: string; stderr: string }>((resolve) => {
        execFile(
          "bash",
          ["scripts/run.sh", "tsx", "scripts/tune-retrieval.ts", ...args],
          { cwd: ROOT, env: { ...process.env, DATABASE_URL: app.db!.url, OLLAMA_HOST: ollama.url, AUTH_SECRET: "x".repeat(32), LOG_LEVEL: "error" }, timeout: 120_000 },
          (err, stdout, stderr) => resolve({ status: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
        );
      });
    const run = await cli("--dataset", datasetName, "--collection", "policies", "--as", adminEmail);
    expect(run.stderr).not.toMatch(/error/i);
    expect(run.status).toBe(0);
    expect(run.stdout).toContain(`${datasetName} (version 1) over policies: ${TOPICS.length} questions`);
    // The saved weights are the current ones now, and still the best.
    expect(run.stdout).toMatch(/← best, now/);
    expect(run.stdout).toContain("not saved (add --save)");
    const wrong = await cli("--dataset", "no such dataset", "--collection", "policies", "--as", adminEmail);
    expect(wrong.status).toBe(1);
    expect(wrong.stderr).toContain('No dataset "no such dataset".');
  });
});
