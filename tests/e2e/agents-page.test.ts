// The admin page for agents and cubbies in real Chromium: an admin makes agents (the credential shown
// once), sees the cubbies an agent made — names, sizes, key versions, grants, never a value — grants and
// revokes access, rotates and shreds with a confirmation each, and reads the KES audit trail. The agent
// feels every change on its next call. A viewer cannot reach the page.
import { randomBytes } from "node:crypto";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ApiError, createSotClient } from "@/lib/cubbies/client";
import { startApp, type RunningApp } from "@/tests/helpers/app";
import { makeUser, signIn, type TestUser } from "@/tests/helpers/auth";
import { launchBrowser } from "@/tests/helpers/browser";

const SECRET = `cubby-content-${randomBytes(6).toString("hex")}`;

async function status(p: Promise<unknown>): Promise<number> {
  try {
    await p;
    return 200;
  } catch (err) {
    if (err instanceof ApiError) return err.status;
    throw err;
  }
}

describe("admin page: agents and cubbies (browser)", () => {
  let app: RunningApp;
  let browser: Browser;
  let admin: TestUser;
  let page: Page;
  const credentials: Record<string, string> = {};

  beforeAll(async () => {
    // KES inside the web process (the embedded KES path), with the process's own master key.
    app = await startApp({ env: { MASTER_KEYS: `page-test:${randomBytes(32).toString("base64")}`, RATE_LIMIT_BURST: "10000" } });
    admin = await makeUser(app.db!, "admin");
    browser = await launchBrowser();
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    page = await context.newPage();
    await signIn(page, app.baseUrl, admin);
  });
  afterAll(async () => {
    await browser?.close();
    await app?.stop();
  });

  const confirm = async (label: string) => {
    const dialog = page.getByTestId("confirm-dialog");
    await dialog.waitFor({ state: "visible" });
    await dialog.getByRole("button", { name: label }).click();
    await dialog.waitFor({ state: "hidden" });
  };

  it("creates agents and shows each credential once", async () => {
    await page.goto(`${app.baseUrl}/admin/agents`);
    for (const name of ["page-agent-a", "page-agent-b"]) {
      const form = page.getByRole("form", { name: "Create agent" });
      await form.getByLabel("Name").fill(name);
      await form.getByLabel("Description").fill(`the ${name}`);
      await form.getByRole("button", { name: "Create agent" }).click();
      const shown = page.getByTestId("new-agent-credential");
      await shown.waitFor();
      credentials[name] = (await shown.textContent())!.trim();
      expect(credentials[name]).toMatch(/^sot_agent_/);
      await page.getByRole("button", { name: "I have copied it" }).click();
      await page.locator(`[data-agent="${name}"]`).waitFor();
    }
    await page.reload();
    expect(await page.content()).not.toContain(credentials["page-agent-a"]);
  });

  it("shows a cubby's facts and grants, never its contents; grants, revokes, rotates and shreds with confirmation", async () => {
    const a = createSotClient({ baseUrl: app.baseUrl, credential: credentials["page-agent-a"]! });
    const b = createSotClient({ baseUrl: app.baseUrl, credential: credentials["page-agent-b"]! });
    const cubby = await a.createCubby({ name: "page-state" });
    await cubby.set("lastSync", { note: SECRET, pageCount: 42 });
    expect(await status(b.cubby("page-state").get("lastSync"))).toBe(403);

    await page.goto(`${app.baseUrl}/admin/agents`);
    const card = page.locator('[data-cubby="page-state"]');
    await expect(card.getByTestId("cubby-facts").textContent()).resolves.toMatch(/1 value, .*key version 1/);
    expect(await page.content()).not.toContain(SECRET);

    // grant B read
    const grantForm = card.getByRole("form", { name: "Grant access to page-state" });
    await grantForm.getByLabel("Agent").selectOption("page-agent-b");
    await grantForm.getByRole("button", { name: "Grant" }).click();
    await card.getByTestId("grants-page-state").getByText("page-agent-b").waitFor();
    expect(await b.cubby("page-state").get("lastSync")).toMatchObject({ pageCount: 42 });

    // revoke it: asks first; B's next call is refused
    await card.getByTestId("grants-page-state").locator("tr", { hasText: "page-agent-b" }).getByRole("button", { name: "Revoke" }).click();
    await confirm("Revoke access");
    await expect.poll(() => card.getByTestId("grants-page-state").locator("tr", { hasText: "page-agent-b" }).count(), { timeout: 15_000 }).toBe(0);
    expect(await status(b.cubby("page-state").get("lastSync"))).toBe(403);

    // rotate: new values use version 2, the old one stays readable
    await card.getByRole("button", { name: "Rotate" }).click();
    await confirm("Rotate key");
    await expect.poll(() => card.getByTestId("cubby-facts").textContent(), { timeout: 15_000 }).toMatch(/key version 2/);
    expect(await cubby.entry("lastSync")).toMatchObject({ keyVersion: 1 });
    expect(await cubby.set("fresh", 1)).toMatchObject({ keyVersion: 2 });

    // cancelling a shred does nothing
    await card.getByRole("button", { name: "Shred" }).click();
    await page.getByTestId("confirm-dialog").getByRole("button", { name: "Cancel" }).click();
    expect(await cubby.get("lastSync")).toMatchObject({ pageCount: 42 });

    await card.getByRole("button", { name: "Shred" }).click();
    await confirm("Shred cubby key");
    await expect.poll(() => card.locator("[data-status]").first().getAttribute("data-status"), { timeout: 15_000 }).toBe("shredded");
    expect(await status(cubby.get("lastSync"))).toBe(410);
    expect(await page.content()).not.toContain(SECRET);
  });

  it("lists the audit trail with refusals and their reasons", async () => {
    await page.goto(`${app.baseUrl}/admin/agents`);
    const audit = page.getByTestId("kes-audit");
    await audit.waitFor();
    const text = (await audit.textContent()) ?? "";
    for (const action of ["kes.shred", "cubby.rotate", "kes.grant", "kes.revoke", "agent.create"]) expect(text).toContain(action);
    expect(text).toMatch(/refused/);
    expect(text).not.toContain(SECRET);
  });

  it("keeps viewers out", async () => {
    const viewer = await makeUser(app.db!, "viewer");
    const context = await browser.newContext();
    const p = await context.newPage();
    await signIn(p, app.baseUrl, viewer);
    await p.goto(`${app.baseUrl}/admin/agents`);
    expect(new URL(p.url()).pathname).toBe("/forbidden");
    await context.close();
  });
});
