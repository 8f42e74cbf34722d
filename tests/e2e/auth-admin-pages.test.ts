// Sign-in, sign-out, session lifetime and the admin pages, in real Chromium against the built app:
// an admin creates a user and a key (shown once), revokes it, sees it all in the audit log; a viewer
// cannot reach the admin pages; signing out (or a password change) ends every session of the user, copies included.
import type { Browser, BrowserContext } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startApp, type RunningApp } from "@/tests/helpers/app";
import { launchBrowser } from "@/tests/helpers/browser";
import { makeUser, signIn, type TestUser } from "@/tests/helpers/auth";

describe("sign-in, sign-out and the admin pages (browser)", () => {
  let app: RunningApp;
  let browser: Browser;
  let admin: TestUser;
  let viewer: TestUser;
  beforeAll(async () => {
    app = await startApp({ env: { SESSION_MAX_AGE_HOURS: "2", RATE_LIMIT_BURST: "10000" } });
    admin = await makeUser(app.db!, "admin");
    viewer = await makeUser(app.db!, "viewer");
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await app?.stop();
  });

  async function signedIn(user: TestUser): Promise<BrowserContext> {
    const context = await browser.newContext();
    await signIn(await context.newPage(), app.baseUrl, user);
    return context;
  }

  it("issues a session cookie that expires after SESSION_MAX_AGE_HOURS and is HttpOnly", async () => {
    const context = await signedIn(viewer);
    const cookie = (await context.cookies()).find((c) => c.name === "next-auth.session-token")!;
    expect(cookie.httpOnly).toBe(true);
    expect(cookie.sameSite).toBe("Lax");
    const hours = (cookie.expires * 1000 - Date.now()) / 3_600_000;
    expect(hours).toBeGreaterThan(1.9);
    expect(hours).toBeLessThanOrEqual(2.01);
    await context.close();
  });

  it("keeps viewers out of the admin pages and admin API", async () => {
    const context = await signedIn(viewer);
    const page = await context.newPage();
    for (const path of ["/admin", "/admin/users", "/admin/keys", "/admin/audit", "/admin/collections"]) {
      await page.goto(app.baseUrl + path);
      expect(new URL(page.url()).pathname, path).toBe("/forbidden");
    }
    const api = await page.request.get(`${app.baseUrl}/api/admin/users`);
    expect(api.status()).toBe(403);
    await context.close();
  });

  it("lets an admin create a user, change the role, disable them — all in the audit log", async () => {
    const context = await signedIn(admin);
    const page = await context.newPage();
    await page.goto(`${app.baseUrl}/admin`);
    for (const name of ["Users", "API keys", "Audit log", "Backups", "Retrieval test", "Feedback"]) {
      await expect(page.getByRole("link", { name: new RegExp(`^${name}`) }).count()).resolves.toBeGreaterThan(0);
    }
    await page.getByRole("link", { name: /^Users/ }).click();
    await page.waitForURL(`${app.baseUrl}/admin/users`);
    const form = page.getByRole("form", { name: "Create user" });
    await form.getByLabel("E-mail").fill("new.colleague@example.test");
    await form.getByLabel(/Initial password/).fill("colleague-password-1");
    await form.getByLabel("Role").selectOption("viewer");
    await form.getByRole("button", { name: "Create user" }).click();
    const row = page.locator('tr[data-email="new.colleague@example.test"]');
    await row.waitFor();
    await row.getByLabel("Role of new.colleague@example.test").selectOption("evaluator");
    await expect.poll(async () => (await app.db!.prisma.user.findUnique({ where: { email: "new.colleague@example.test" } }))?.role).toBe("evaluator");
    await row.getByRole("button", { name: "Disable" }).click();
    await row.getByRole("button", { name: "Enable" }).waitFor();
    expect((await app.db!.prisma.user.findUniqueOrThrow({ where: { email: "new.colleague@example.test" } })).disabledAt).not.toBeNull();

    await page.goto(`${app.baseUrl}/admin/audit?action=user.`);
    const text = await page.getByTestId("audit-table").textContent();
    expect(text).toContain("user.create");
    expect(text).toContain("user.role");
    expect(text).toContain("user.disable");
    expect(text).toContain(admin.email);
    await context.close();
  });

  it("shows a new key once; it works until revoked; last use is listed", async () => {
    const context = await signedIn(admin);
    const page = await context.newPage();
    await page.goto(`${app.baseUrl}/admin/keys`);
    const form = page.getByRole("form", { name: "Create API key" });
    await form.getByLabel("Name").fill("ci script");
    await form.getByLabel("admin").check();
    await form.getByLabel(/Expires after/).fill("7");
    await form.getByRole("button", { name: "Create key" }).click();
    const key = (await page.getByTestId("new-key-value").textContent())!.trim();
    expect(key).toMatch(/^sot_[a-z0-9]{8}_[A-Za-z0-9_-]{43}$/);

    const use = await fetch(`${app.baseUrl}/api/admin/audit`, { headers: { authorization: `Bearer ${key}` } });
    expect(use.status).toBe(200);
    await page.reload();
    expect(await page.content()).not.toContain(key);
    const row = page.locator('tr[data-key-name="ci script"]');
    expect(await row.textContent()).toMatch(/ask, admin/);
    expect(await row.textContent()).not.toContain("never"); // last used is set; expiry is a date
    await row.getByRole("button", { name: "Revoke" }).click();
    await page.getByTestId("confirm-dialog").getByRole("button", { name: "Revoke key" }).click();
    await expect.poll(async () => row.textContent(), { timeout: 15_000 }).toContain("revoked");
    expect((await fetch(`${app.baseUrl}/api/admin/audit`, { headers: { authorization: `Bearer ${key}` } })).status).toBe(401);
    await context.close();
  });

  it("signs out: the browser loses its session, and every copy of it and the user's other sessions end too", async () => {
    const context = await signedIn(admin);
    const other = await signedIn(admin); // the same person in a second browser
    const page = await context.newPage();
    await page.goto(`${app.baseUrl}/admin`);
    const cookie = (await context.cookies()).find((c) => c.name === "next-auth.session-token")!;
    const otherCookie = (await other.cookies()).find((c) => c.name === "next-auth.session-token")!;
    const asCookie = (c: { name: string; value: string }) => ({ headers: { cookie: `${c.name}=${c.value}` } });
    expect((await fetch(`${app.baseUrl}/api/admin/users`, asCookie(cookie))).status).toBe(200);
    expect((await fetch(`${app.baseUrl}/api/admin/users`, asCookie(otherCookie))).status).toBe(200);
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.waitForURL((u) => u.pathname === "/signin");
    expect((await context.cookies()).find((c) => c.name === "next-auth.session-token")).toBeUndefined();
    await page.goto(`${app.baseUrl}/admin`);
    expect(new URL(page.url()).pathname).toBe("/signin");
    // The copied cookie and the second browser's session are refused at once (the session version moved on).
    expect((await fetch(`${app.baseUrl}/api/admin/users`, asCookie(cookie))).status).toBe(401);
    expect((await fetch(`${app.baseUrl}/api/admin/users`, asCookie(otherCookie))).status).toBe(401);
    // And next-auth's session endpoint does not hand the ended session a fresh cookie.
    const refreshed = await fetch(`${app.baseUrl}/api/auth/session`, asCookie(otherCookie));
    expect(await refreshed.json()).toEqual({});
    expect(refreshed.headers.getSetCookie().some((c) => c.startsWith("next-auth.session-token=") && !/expires=Thu, 01 Jan 1970/i.test(c) && !/Max-Age=0/i.test(c))).toBe(false);
    const secondPage = await other.newPage();
    await secondPage.goto(`${app.baseUrl}/admin`);
    expect(new URL(secondPage.url()).pathname).toBe("/signin");
    await context.close();
    await other.close();
  });

  it("a password change made by an admin ends the user's sessions", async () => {
    const user = await makeUser(app.db!, "viewer");
    const context = await signedIn(user);
    const cookie = (await context.cookies()).find((c) => c.name === "next-auth.session-token")!;
    const asCookie = { headers: { cookie: `${cookie.name}=${cookie.value}` } };
    expect((await fetch(`${app.baseUrl}/api/conversations`, asCookie)).status).toBe(200);
    const adminContext = await signedIn(admin);
    const res = await adminContext.request.patch(`${app.baseUrl}/api/admin/users/${user.id}`, { data: { password: "a brand new password 123" } });
    expect(res.status()).toBe(200);
    expect((await fetch(`${app.baseUrl}/api/conversations`, asCookie)).status).toBe(401);
    await context.close();
    await adminContext.close();
  });
});
