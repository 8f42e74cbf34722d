// "Move in from Supabase" on the built app (real server, PostgreSQL, Chromium, fake Ollama): the route
// is for administrators only, a dry run over HTTP writes nothing, a binary dump gets a 422 naming it;
// on the Sources page an admin checks a pg_dump with a dry run, imports it and watches the progress bar
// reach the end; the old scores become the baseline the first local run is compared with on its page.
import type { Browser } from "playwright-core";
import { readFileSync, writeFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { systemContext } from "@/lib/access/context";
import { importScores } from "@/lib/supabase-import";
import { fakeJudge } from "@/tests/fakes/judge-fake";
import { startFakeOllama, type FakeOllama } from "@/tests/fakes/ollama";
import { startApp, type RunningApp } from "@/tests/helpers/app";
import { makeApiKey, makeUser, signIn, type TestUser } from "@/tests/helpers/auth";
import { launchBrowser } from "@/tests/helpers/browser";
import { completedRun } from "@/tests/helpers/factories";
import { makeFixture, type Fixture } from "@/tests/helpers/supabase-dumps";

let app: RunningApp;
let ollama: FakeOllama;
let fixture: Fixture;
let browser: Browser;
let adminUser: TestUser;
let admin: Record<string, string>;
let importer: Record<string, string>;
let collectionId: string;

const post = (headers: Record<string, string>, query: string, file: string) =>
  fetch(`${app.baseUrl}/api/import/supabase?${query}`, {
    method: "POST",
    headers: { ...headers, "content-type": "application/octet-stream" },
    body: new Blob([readFileSync(file)]),
  });

beforeAll(async () => {
  ollama = await startFakeOllama({ onChat: fakeJudge() });
  fixture = await makeFixture(1536);
  app = await startApp({ env: { OLLAMA_HOST: ollama.url } });
  adminUser = await makeUser(app.db!, "admin");
  admin = (await makeApiKey(app.db!, ["admin", "import", "score", "ask"], { creator: adminUser })).headers;
  importer = (await makeApiKey(app.db!, ["import"], { creator: await makeUser(app.db!, "admin") })).headers;
  collectionId = (await app.db!.prisma.collection.create({ data: { slug: "old-wiki", name: "Old wiki" } })).id;
  browser = await launchBrowser();
}, 600_000);

afterAll(async () => {
  await browser?.close();
  await app?.stop();
  await ollama?.close();
  await fixture?.close();
});

describe("POST /api/import/supabase", () => {
  it("is for administrators: an import-scoped key is refused", async () => {
    const res = await post(importer, `collectionId=${collectionId}&dryRun=true`, fixture.dump("a.sql", []));
    expect(res.status).toBe(403);
  });

  it("a dry run answers the report and writes nothing; a binary dump is a 422 naming the problem", async () => {
    const res = await post(admin, `collectionId=${collectionId}&dryRun=true&fileName=export.sql`, fixture.dump("b.sql", ["--inserts"]));
    expect(res.status).toBe(200);
    const r = await res.json();
    expect(r).toMatchObject({ dryRun: true, rows: 20, chunks: 18, documents: 6, embedding: { dimension: 1536, reused: false } });
    const bin = await post(admin, `collectionId=${collectionId}&dryRun=false&fileName=export.dump`, fixture.dump("c.dump", ["-Fc"]));
    expect(bin.status).toBe(422);
    expect((await bin.json()).error.message).toMatch(/^line 1: this is a binary pg_dump archive/);
    expect(await app.db!.prisma.document.count({ where: { collectionId } })).toBe(0);
    expect(await app.db!.prisma.source.count({ where: { collectionId } })).toBe(0);
  });
});

describe("the Sources page", () => {
  it("checks the dump with a dry run, imports it with a progress bar, and the pages cite the old URLs", async () => {
    const dump = fixture.dump("page.sql", []);
    const page = await browser.newPage();
    await signIn(page, app.baseUrl, adminUser);
    await page.goto(`${app.baseUrl}/sources`);
    const form = page.getByRole("form", { name: "Move in from Supabase" });
    await form.getByLabel("Into collection").selectOption({ label: "Old wiki" });
    await form.getByLabel("Export (pg_dump plain SQL, or CSV)").setInputFiles(dump);
    await form.getByRole("button", { name: "Check (dry run)" }).click();
    const report = page.getByTestId("move-in-report");
    await expect.poll(() => report.textContent(), { timeout: 30_000 }).toMatch(/Dry run: nothing was written\./);
    expect(await report.textContent()).toMatch(/Pages \(documents\)6 — by page id: 6/);
    expect(await report.textContent()).toMatch(/1536 dimensions: Google gemini-embedding-001/);
    expect(await app.db!.prisma.document.count({ where: { collectionId } })).toBe(0);

    await form.getByRole("button", { name: "Import" }).click();
    await expect
      .poll(async () => (await page.getByTestId("move-in-status").count()) ? page.getByTestId("move-in-status").textContent() : page.locator("main").textContent(), { timeout: 60_000 })
      .toMatch(/^Done: 6 pages imported, 0 unchanged, 0 failed/);
    const bar = page.getByTestId("move-in-progress");
    expect(await bar.getAttribute("value")).toBe("6");
    expect(await bar.getAttribute("max")).toBe("6");
    const docs = await app.db!.prisma.document.findMany({ where: { collectionId }, select: { url: true } });
    expect(docs.map((d) => d.url).sort()).toEqual(fixture.pages.map((p) => p.url).sort());
    // The move-in source is listed with its documents.
    await page.goto(`${app.baseUrl}/sources`);
    await expect.poll(() => page.getByRole("row", { name: /Supabase move-in/ }).textContent()).toMatch(/6/);
    await page.close();
  }, 180_000);

  it("the first local run of the old questions shows the old average as its baseline", async () => {
    const file = `${fixture.dir}/scores.json`;
    const old = [
      { question: "How quickly must the on-call engineer acknowledge pages?", output: "Within 5 minutes.", score: 5, time: "2026-10-01T09:00:00Z" },
      { question: "When do production deploys happen?", output: "On Tuesdays.", score: 3.5, time: "2026-10-01T09:01:00Z" },
    ];
    writeFileSync(file, JSON.stringify(old));
    const scores = await importScores(systemContext(app.db!, "test", [collectionId]), { path: file, collectionIds: [collectionId] });
    expect(scores.average).toBeCloseTo(4.25, 5);
    const run = await completedRun({ baseUrl: app.baseUrl, db: app.db! }, { name: "admin", headers: admin }, scores.datasetId!);
    const page = await browser.newPage();
    await signIn(page, app.baseUrl, adminUser);
    await page.goto(`${app.baseUrl}/evaluations/runs/${run.id}`);
    const figure = await page.getByTestId("baseline-figure").textContent();
    expect(figure).toMatch(/Baseline \(the old system's scores, imported\): average hallucination 4\.25 · this run \d\.\d\d \([+−]\d\.\d\d\)/);
    await page.close();
  });
});
