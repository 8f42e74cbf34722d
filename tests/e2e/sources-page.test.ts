// Ingestion on the built app (real server, PostgreSQL, Chromium, fake Notion and Ollama): the sources,
// upload and webhook routes over HTTP, then a person starting a Notion import on the Sources page and
// watching it finish.
import { randomBytes, randomUUID } from "node:crypto";
import { signWebhookPayload } from "@notionhq/client";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildPdf } from "@/tests/fakes/documents";
import { nid, startFakeNotion, type FakeNotion, type FakePage } from "@/tests/fakes/notion";
import { startFakeOllama, type FakeOllama } from "@/tests/fakes/ollama";
import { startApp, type RunningApp } from "@/tests/helpers/app";
import { makeApiKey, makeUser, signIn, type TestUser } from "@/tests/helpers/auth";
import { launchBrowser } from "@/tests/helpers/browser";
import { until } from "@/tests/helpers/until";

let app: RunningApp;
let notion: FakeNotion;
let ollama: FakeOllama;
let browser: Browser;
let admin: Record<string, string>;
let adminUser: TestUser;
let collectionId: string;
let sourceId: string;

const pages: FakePage[] = [
  { id: nid(1), title: "Handbook", parent: { type: "workspace" }, markdown: "# Handbook\n\nWelcome." },
  ...Array.from({ length: 6 }, (_, i): FakePage => ({
    id: nid(10 + i),
    title: `Chapter ${i}`,
    parent: { type: "page_id", page_id: nid(1) },
    markdown: `Chapter ${i} explains procedure number ${i}.`,
  })),
];

beforeAll(async () => {
  notion = await startFakeNotion({ pages, maxPageSize: 3 });
  ollama = await startFakeOllama();
  app = await startApp({
    env: {
      NOTION_API_URL: notion.url,
      NOTION_REQUESTS_PER_SECOND: "30",
      NOTION_WEBHOOK_DEBOUNCE_SECONDS: "0",
      OLLAMA_HOST: ollama.url,
      MASTER_KEYS: `e2e:${randomBytes(32).toString("base64")}`,
    },
  });
  adminUser = await makeUser(app.db!, "admin");
  admin = (await makeApiKey(app.db!, ["admin", "import"], { creator: adminUser })).headers;
  collectionId = (await app.db!.prisma.collection.create({ data: { slug: "handbook", name: "Handbook" } })).id;
  browser = await launchBrowser();
}, 600_000);
afterAll(async () => {
  await browser?.close();
  await app?.stop();
  await notion?.close();
  await ollama?.close();
});

const post = (path: string, body: unknown, headers: Record<string, string> = admin) =>
  fetch(`${app.baseUrl}${path}`, { method: "POST", headers: { ...headers, "content-type": "application/json" }, body: JSON.stringify(body) });

describe("sources API", () => {
  it("needs a key with the right permission and names bad fields", async () => {
    expect((await fetch(`${app.baseUrl}/api/sources`)).status).toBe(401);
    const importer = await makeApiKey(app.db!, ["import"]);
    const denied = await post("/api/sources", { kind: "notion", collectionId, name: "x", token: "ntn_abcdefghijkl" }, importer.headers);
    expect(denied.status).toBe(403);
    const bad = await post("/api/sources", { kind: "notion", collectionId: "nope", name: "", token: "x" });
    expect(bad.status).toBe(400);
    const paths = (await bad.json()).error.details.map((d: { path: string }) => d.path).sort();
    expect(paths).toEqual(["collectionId", "name", "token"]);
  });

  it("connects Notion with the token stored encrypted", async () => {
    const res = await post("/api/sources", { kind: "notion", collectionId, name: "Company Notion", token: notion.token });
    expect(res.status).toBe(201);
    const { source } = await res.json();
    expect(source).toMatchObject({ kind: "notion", name: "Company Notion", hasSecret: true, documents: 0 });
    expect(JSON.stringify(source)).not.toContain(notion.token);
    sourceId = source.id;
    const row = await app.db!.prisma.source.findUniqueOrThrow({ where: { id: sourceId } });
    expect(row.secretCiphertext).toMatch(/^sot:v2:kes:v1:secrets:1:/);
  });

  it("uploads files of several formats, and rejects a broken one naming it, storing nothing", async () => {
    const form = new FormData();
    form.append("file", new Blob(["# Leave\n\nParental leave is 20 weeks."]), "leave.md");
    form.append("file", new Blob([buildPdf([["Expense claims within 30 days."]], "Expenses") as BlobPart]), "expenses.pdf");
    const ok = await fetch(`${app.baseUrl}/api/import/upload?collectionId=${collectionId}`, { method: "POST", headers: admin, body: form });
    expect(ok.status).toBe(200);
    expect((await ok.json()).files).toEqual([
      { file: "leave.md", status: "created", chunks: 1 },
      { file: "expenses.pdf", status: "created", chunks: 1 },
    ]);
    const before = await app.db!.prisma.document.count({ where: { collectionId } });
    const broken = new FormData();
    broken.append("file", new Blob(["# fine"]), "fine.md");
    broken.append("file", new Blob(["%PDF-1.4 garbage"]), "broken.pdf");
    const res = await fetch(`${app.baseUrl}/api/import/upload?collectionId=${collectionId}`, { method: "POST", headers: admin, body: broken });
    expect(res.status).toBe(422);
    expect((await res.json()).error.message).toMatch(/^broken\.pdf: is not a readable PDF/);
    expect(await app.db!.prisma.document.count({ where: { collectionId } })).toBe(before);
    const wrongType = await fetch(`${app.baseUrl}/api/import/upload?collectionId=${collectionId}`, { method: "POST", headers: { ...admin, "content-type": "application/json" }, body: "{}" });
    expect(wrongType.status).toBe(415);
  });

  it("webhook: a handshake only while an admin awaits it, 401 on a bad signature, and a signed edit becomes searchable", async () => {
    const url = `/api/notion/webhook?source=${sourceId}`;
    // Nobody awaits a handshake: an anonymous verification token is refused.
    const early = await post(url, { verification_token: "secret_e2e_attacker_token" }, {});
    expect(early.status).toBe(403);
    expect((await early.json()).error.message).toMatch(/not awaiting a webhook handshake/);
    const importer = await makeApiKey(app.db!, ["import"]);
    expect((await post(`/api/sources/${sourceId}/webhook-token`, {}, importer.headers)).status).toBe(403);
    const opened = await post(`/api/sources/${sourceId}/webhook-token`, {});
    expect(opened.status).toBe(200);
    const { awaitingHandshakeUntil, webhookUrl } = await opened.json();
    expect(webhookUrl).toBe(url);
    expect(Date.parse(awaitingHandshakeUntil) - Date.now()).toBeGreaterThan(14 * 60_000);
    expect((await post(url, { verification_token: "secret_e2e_verify_token" }, {})).status).toBe(200);
    // Accepted once: the window closed with it.
    expect((await post(url, { verification_token: "secret_e2e_second_token" }, {})).status).toBe(403);
    const shown = await fetch(`${app.baseUrl}/api/sources/${sourceId}/webhook-token`, { headers: admin });
    expect(await shown.json()).toMatchObject({ verificationToken: "secret_e2e_verify_token", awaitingHandshakeUntil: null, verifiedAt: expect.any(String) });

    notion.upsertPage({ id: nid(99), title: "Fresh page", parent: { type: "workspace" }, markdown: "The password rotation tool is called keyturner." });
    const body = JSON.stringify({ id: randomUUID(), timestamp: new Date().toISOString(), type: "page.created", entity: { id: nid(99), type: "page" }, data: {} });
    const bad = await fetch(`${app.baseUrl}${url}`, { method: "POST", headers: { "content-type": "application/json", "x-notion-signature": "sha256=deadbeef" }, body });
    expect(bad.status).toBe(401);
    const sig = await signWebhookPayload({ body, verificationToken: "secret_e2e_verify_token" });
    const ok = await fetch(`${app.baseUrl}${url}`, { method: "POST", headers: { "content-type": "application/json", "x-notion-signature": sig }, body });
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ ok: true, outcome: "queued" });
    const replay = await fetch(`${app.baseUrl}${url}`, { method: "POST", headers: { "content-type": "application/json", "x-notion-signature": sig }, body });
    expect(await replay.json()).toEqual({ ok: true, outcome: "duplicate" });
    await until(
      "the webhook's page to be searchable",
      async () =>
        (await app.db!.prisma.$queryRaw<Array<{ n: number }>>`
          SELECT count(*)::int AS n FROM chunks WHERE tsv @@ plainto_tsquery('english', 'keyturner')`)[0].n === 1,
    );
  });
});

describe("Sources page", () => {
  it("starts a Notion import and shows its progress until it finishes", async () => {
    const page = await browser.newPage();
    await signIn(page, app.baseUrl, adminUser);
    await page.goto(`${app.baseUrl}/sources`);
    const row = page.getByTestId("source-Company Notion");
    await expect(row.getByText("never imported").count()).resolves.toBe(1);
    await row.getByRole("button", { name: "Import now" }).click();
    await page.waitForFunction(
      () => document.querySelector('[data-testid="source-Company Notion"] [data-testid="job-status"]')?.textContent === "succeeded",
      undefined,
      { timeout: 60_000 },
    );
    // 7 handbook pages + the webhook's fresh page.
    await expect(row.getByTestId("job-counts").textContent()).resolves.toMatch(/^8 of 8 pages done · 0 failed/);
    await expect(row.getByTestId("job-kind").textContent()).resolves.toBe("full sync");
    await page.waitForFunction(() => document.querySelector('[data-testid="source-Company Notion"] [data-testid="source-documents"]')?.textContent === "8");
    // The webhook was verified by the handshake above; the admin can await a new one.
    await expect(row.getByTestId("webhook-state").textContent()).resolves.toMatch(/Webhook: verified/);
    await row.getByRole("button", { name: "Await webhook handshake" }).click();
    await page.waitForFunction(() => /awaiting Notion's handshake until/.test(document.querySelector('[data-testid="source-Company Notion"] [data-testid="webhook-state"]')?.textContent ?? ""));
    // The upload source is listed too.
    await expect(page.getByTestId("source-Uploads").count()).resolves.toBe(1);

    // A partial import (one page) adds and updates, removes nothing, and the page says which kind it was.
    const res = await post("/api/import", { sourceId, pageIds: [nid(10)] });
    expect(res.status).toBe(202);
    const { job } = await res.json();
    expect(job.kind).toBe("partial");
    const done = await until("the partial import", async () => {
      const j = (await (await fetch(`${app.baseUrl}/api/import/${job.id}`, { headers: admin })).json()).job;
      return j.status === "succeeded" && j;
    });
    expect(done).toMatchObject({ found: 1, removed: 0 });
    await page.reload();
    await expect(row.getByTestId("job-kind").textContent()).resolves.toBe("partial import: adds and updates only");
    await expect(row.getByTestId("source-documents").textContent()).resolves.toBe("8");
    await page.close();
  });
});
