// Evaluation scope on the built app (real server, PostgreSQL, Chromium): an evaluator who is not a member
// of a restricted collection never reads its text through a run someone else started (API and page), a
// dataset that is not theirs cannot be changed, and the dataset page offers only their own questions.
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fakeJudge } from "@/tests/fakes/judge-fake";
import { startFakeOllama, type FakeOllama } from "@/tests/fakes/ollama";
import { startApp, type RunningApp } from "@/tests/helpers/app";
import { makeApiKey, makeUser, signIn, type TestUser } from "@/tests/helpers/auth";
import { launchBrowser } from "@/tests/helpers/browser";
import { until } from "@/tests/helpers/until";

const CANARY = "HERON-VAULT-5512-KESTREL";

let app: RunningApp;
let ollama: FakeOllama;
let browser: Browser;
let page: Page;
let admin: Record<string, string>;
let outsider: TestUser;
let outsiderKey: Record<string, string>;
let open: string;
let secret: string;

async function call(method: string, path: string, headers: Record<string, string>, body?: unknown) {
  const res = await fetch(`${app.baseUrl}${path}`, {
    method,
    headers: { ...headers, ...(body !== undefined ? { "content-type": "application/json" } : {}) },
    body: body !== undefined ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  return { status: res.status, text, json: text ? JSON.parse(text) : null };
}

async function upload(collectionId: string, name: string, markdown: string) {
  const form = new FormData();
  form.append("file", new Blob([markdown]), name);
  const res = await fetch(`${app.baseUrl}/api/import/upload?collectionId=${collectionId}`, { method: "POST", headers: admin, body: form });
  expect(res.status).toBe(200);
}

async function completedRun(datasetId: string, headers: Record<string, string>) {
  const started = await call("POST", "/api/runs", headers, { datasetId });
  expect(started.status).toBe(202);
  return until("the run to complete", async () => {
    const r = await call("GET", `/api/runs/${started.json.id}`, headers);
    if (r.json.run.status === "failed") throw new Error(`run did not complete: ${r.text.slice(0, 500)}`);
    return r.json.run.status === "completed" && r;
  });
}

beforeAll(async () => {
  ollama = await startFakeOllama({ onChat: fakeJudge() });
  app = await startApp({ env: { OLLAMA_HOST: ollama.url, DEMO_WIKI: "false" } });
  const db = app.db!;
  const adminUser = await makeUser(db, "admin");
  admin = (await makeApiKey(db, ["ask", "score", "import", "admin"], { creator: adminUser })).headers;
  open = (await db.prisma.collection.create({ data: { slug: "canteen", name: "Canteen" } })).id;
  secret = (await db.prisma.collection.create({ data: { slug: "heron", name: "Heron", restricted: true } })).id;
  await upload(open, "canteen.md", "# Canteen\n\nThe canteen on floor 2 opens at noon and serves soup on Fridays.");
  await upload(secret, "heron.md", `# Heron vault\n\nThe heron vault code is ${CANARY}. Only the heron team knows it.`);
  outsider = await makeUser(db, "evaluator");
  outsiderKey = (await makeApiKey(db, ["ask", "score"], { creator: outsider })).headers;
  browser = await launchBrowser();
  page = await browser.newPage();
  await signIn(page, app.baseUrl, outsider);
});
afterAll(async () => {
  await browser?.close();
  await app?.stop();
  await ollama?.close();
});

describe("evaluation scope", () => {
  it("an evaluator outside the restricted collection cannot read an admin's run over it: API 404, page not found, not listed or trended", async () => {
    const ds = await call("POST", "/api/datasets", admin, {
      name: "Heron checks",
      collectionIds: [open, secret],
      items: [{ question: "What is the heron vault code?" }],
    });
    expect(ds.status).toBe(201);
    const run = await completedRun(ds.json.id, admin);
    // The control: the admin's run did read the secret page.
    expect(run.text).toContain(CANARY);
    const runId = run.json.run.id;

    const direct = await call("GET", `/api/runs/${runId}`, outsiderKey);
    expect(direct.status).toBe(404);
    expect(direct.text).not.toContain(CANARY);
    const list = await call("GET", "/api/runs", outsiderKey);
    expect(list.json.runs.map((r: { id: string }) => r.id)).not.toContain(runId);
    expect(list.json.hidden).toBe(1);
    expect((await call("GET", "/api/runs/trend", outsiderKey)).json.runs.map((r: { id: string }) => r.id)).not.toContain(runId);
    expect((await call("GET", `/api/datasets/${ds.json.id}`, outsiderKey)).status).toBe(404);
    expect((await call("GET", `/api/datasets/${ds.json.id}/export?format=csv`, outsiderKey)).status).toBe(404);
    expect((await call("POST", "/api/runs", outsiderKey, { datasetId: ds.json.id })).status).toBe(404);

    // The annotation queue never serves the run's answer (nor the admin's logged answers).
    for (let i = 0; i < 20; i++) {
      const next = await call("GET", "/api/annotations/next", outsiderKey);
      expect(next.text).not.toContain(CANARY);
      if (!next.json.item) break;
      await call("POST", "/api/annotations/skip", outsiderKey, { targetKind: next.json.item.targetKind, targetId: next.json.item.targetId });
    }

    const res = await page.goto(`${app.baseUrl}/evaluations/runs/${runId}`);
    expect(res!.status()).toBe(404);
    expect(await page.content()).not.toContain(CANARY);
    await page.goto(`${app.baseUrl}/evaluations`);
    expect(await page.getByTestId("runs-hidden").textContent()).toBe("1 run over collections you may not read is not shown.");
    expect(await page.content()).not.toContain(CANARY);
    expect(await page.content()).not.toContain("Heron checks");
  });

  it("only a dataset's owner or an admin may change it (403 for anyone else)", async () => {
    const ds = await call("POST", "/api/datasets", admin, { name: "Canteen checks", collectionIds: [open], items: [{ question: "When does the canteen open?" }] });
    expect((await call("GET", `/api/datasets/${ds.json.id}`, outsiderKey)).json).toMatchObject({ name: "Canteen checks", canEdit: false });
    const patched = await call("PATCH", `/api/datasets/${ds.json.id}`, outsiderKey, { name: "Taken over", items: [] });
    expect(patched.status).toBe(403);
    expect(patched.json.error.message).toBe('Only the owner of dataset "Canteen checks" or an admin may change it.');
    expect((await call("POST", "/api/datasets/import", outsiderKey, { format: "jsonl", text: '{"question":"x?"}', datasetId: ds.json.id })).status).toBe(403);
    const after = await call("GET", `/api/datasets/${ds.json.id}`, admin);
    expect(after.json).toMatchObject({ name: "Canteen checks", currentVersion: 1 });
    expect((await call("PATCH", `/api/datasets/${ds.json.id}`, admin, { description: "checked" })).status).toBe(200);
  });

  it("the dataset page offers the viewer's own logged questions, not other people's", async () => {
    const colleague = (await makeApiKey(app.db!, ["ask"], { creator: await makeUser(app.db!, "evaluator") })).headers;
    expect((await call("POST", "/api/evaluate", colleague, { question: "Does the canteen serve soup for the colleague?", stream: false })).status).toBe(200);
    const mine = await page.evaluate(async () => {
      const r = await fetch("/api/evaluate", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ question: "When does the canteen open for me?", stream: false }) });
      return r.status;
    });
    expect(mine).toBe(200);
    const ds = await page.evaluate(async () => {
      const r = await fetch("/api/datasets", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ name: "My canteen set" }) });
      return (await r.json()).id as string;
    });
    await page.goto(`${app.baseUrl}/evaluations/datasets/${ds}`);
    await page.getByText("Add a logged question").click();
    const offered = await page.locator("details", { hasText: "Add a logged question" }).textContent();
    expect(offered).toContain("When does the canteen open for me?");
    expect(offered).not.toContain("for the colleague");
    expect(await page.getByTestId("dataset-scope").textContent()).toContain(`Owner: ${outsider.email}`);
  });
});
