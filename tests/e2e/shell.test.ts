// The first page on a real server and a real browser: setup of the first admin, the app shell with
// its navigation, the health summary, sign-out; and what /api/health tells whom.
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startApp, type RunningApp } from "@/tests/helpers/app";
import { launchBrowser } from "@/tests/helpers/browser";
import { signIn } from "@/tests/helpers/auth";
import { startFakeOllama, type FakeOllama } from "@/tests/fakes/ollama";

describe("app shell (PostgreSQL, fake Ollama)", () => {
  let app: RunningApp;
  let browser: Browser;
  let ollama: FakeOllama;
  beforeAll(async () => {
    ollama = await startFakeOllama();
    app = await startApp({ env: { OLLAMA_HOST: ollama.url } });
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await app?.stop();
    await ollama?.close();
  });

  it("tells anonymous callers only up/down, and signed-in ones the details", async () => {
    const res = await fetch(`${app.baseUrl}/api/health`);
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body).toMatchObject({ status: "ok", database: { ok: true }, ollama: { reachable: true, modelsMissing: 0 }, queue: { ok: true } });
    expect(JSON.stringify(body)).not.toMatch(/127\.0\.0\.1|llama3|qwen|nomic|pgvector|postgres/i);
  });

  it("sends a first visitor to setup, creates the admin, and shows the shell with the health summary", async () => {
    const page = await browser.newPage();
    await page.goto(`${app.baseUrl}/`);
    expect(new URL(page.url()).pathname).toBe("/setup");
    await page.getByLabel("E-mail").fill("owner@example.test");
    await page.getByLabel(/^Password/).fill("owner-password-123");
    await page.getByRole("button", { name: "Create administrator" }).click();
    await page.waitForURL(`${app.baseUrl}/`);

    const nav = page.getByRole("navigation", { name: "Main" });
    for (const label of ["Ask", "Sources", "Evaluations", "Schedules", "Admin", "Connect"]) {
      await expect(nav.getByRole("link", { name: label, exact: true }).count()).resolves.toBe(1);
    }
    const health = page.getByTestId("health-summary");
    await health.waitFor();
    expect(await page.getByTestId("health-status").textContent()).toBe("ok");
    expect(await page.getByTestId("health-database").textContent()).toMatch(/PostgreSQL · pgvector 0\.8/);
    expect(await page.getByTestId("health-models").textContent()).toMatch(/Reachable/);

    // The setup page is gone once an admin exists.
    await page.goto(`${app.baseUrl}/setup`);
    expect(new URL(page.url()).pathname).toBe("/");
    const again = await fetch(`${app.baseUrl}/api/setup`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ email: "intruder@example.test", password: "intruder-password" }),
    });
    expect(again.status).toBe(409);

    // Signed in, the health endpoint gives details.
    const cookies = (await page.context().cookies()).map((c) => `${c.name}=${c.value}`).join("; ");
    const detailed = await (await fetch(`${app.baseUrl}/api/health`, { headers: { cookie: cookies } })).json();
    expect(detailed.database).toMatchObject({ kind: "postgres", pgvector: expect.stringMatching(/^0\.8/) });
    expect(detailed.database.migrations.pending).toEqual([]);

    await page.getByRole("button", { name: "Sign out" }).click();
    await page.waitForURL(/\/signin/);
    await page.goto(`${app.baseUrl}/`);
    expect(new URL(page.url()).pathname).toBe("/signin");
    await page.close();
  });

  it("shows a viewer only what a viewer may use, and refuses a wrong password", async () => {
    const { makeUser } = await import("@/tests/helpers/auth");
    const viewer = await makeUser(app.db!, "viewer");
    const page = await browser.newPage();
    await page.goto(`${app.baseUrl}/signin`);
    await page.getByLabel("E-mail").fill(viewer.email);
    await page.getByLabel("Password").fill("not the password");
    await page.getByRole("button", { name: "Sign in" }).click();
    // (Next.js's route announcer is also a role=alert element: pick ours by its text.)
    await page.getByRole("alert").filter({ hasText: /wrong/ }).waitFor();

    await signIn(page, app.baseUrl, viewer);
    const nav = page.getByRole("navigation", { name: "Main" });
    expect(await nav.getByRole("link").allTextContents()).toEqual(["Ask", "Sources", "Connect"]);
    await page.goto(`${app.baseUrl}/admin`);
    expect(new URL(page.url()).pathname).toBe("/forbidden");
    await page.close();
  });
});
