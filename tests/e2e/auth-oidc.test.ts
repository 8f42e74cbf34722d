// Optional OpenID Connect sign-in, end to end: Chromium, the built app with OIDC_* settings, next-auth's
// real OAuth client and a protocol-level fake provider (tests/fakes/oidc.ts). People are matched by
// e-mail, created with OIDC_DEFAULT_ROLE on first sign-in, and refused when disabled or unverified.
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startFakeOidc, type FakeOidc } from "@/tests/fakes/oidc";
import { startApp, type RunningApp } from "@/tests/helpers/app";
import { launchBrowser } from "@/tests/helpers/browser";
import { makeUser } from "@/tests/helpers/auth";

describe("OpenID Connect sign-in (fake provider, real client)", () => {
  let app: RunningApp;
  let browser: Browser;
  let idp: FakeOidc;
  beforeAll(async () => {
    idp = await startFakeOidc();
    app = await startApp({
      env: { OIDC_ISSUER: idp.issuer, OIDC_CLIENT_ID: idp.clientId, OIDC_CLIENT_SECRET: idp.clientSecret, OIDC_DISPLAY_NAME: "Test SSO", OIDC_DEFAULT_ROLE: "viewer" },
    });
    await makeUser(app.db!, "admin"); // so /signin is shown, not /setup
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await app?.stop();
    await idp?.close();
  });

  async function ssoSignIn(): Promise<Page> {
    const page = await (await browser.newContext()).newPage();
    await page.goto(`${app.baseUrl}/signin`);
    // The round trip: /api/auth/signin/oidc → the provider's /authorize → /api/auth/callback/oidc → a page.
    const callback = page.waitForResponse((r) => r.url().startsWith(`${app.baseUrl}/api/auth/callback/oidc`), { timeout: 30_000 });
    await page.getByRole("button", { name: "Sign in with Test SSO" }).click();
    await callback;
    // Until the redirect after the callback commits, the page still shows the plain /signin it started on.
    await page.waitForURL((u) => u.origin === app.baseUrl && !u.pathname.startsWith("/api/auth") && !(u.pathname === "/signin" && !u.search), { timeout: 30_000 });
    await page.waitForLoadState("load");
    return page;
  }

  it("creates a new person with the default role on first sign-in and signs them in", async () => {
    idp.user = { sub: "sub-new", email: "New.SSO@Example.test", email_verified: true, name: "New SSO" };
    const page = await ssoSignIn();
    expect(new URL(page.url()).pathname).toBe("/");
    expect(await page.getByTestId("user-label").textContent()).toContain("new.sso@example.test · viewer");
    const user = await app.db!.prisma.user.findUniqueOrThrow({ where: { email: "new.sso@example.test" } });
    expect(user).toMatchObject({ role: "viewer", passwordHash: null, name: "New SSO" });
    // The provider was called with PKCE and the client secret (client_secret_basic).
    expect(idp.tokenRequests.at(-1)!.body.get("code_verifier")).toBeTruthy();
    expect(idp.tokenRequests.at(-1)!.authorization).toMatch(/^Basic /);
    const audit = await app.db!.prisma.auditLog.findFirst({ where: { target: `user:${user.id}`, action: "user.create" } });
    expect(audit?.details).toMatchObject({ via: "oidc" });
  });

  it("signs an existing user in as themselves, keeping their role", async () => {
    const evaluator = await makeUser(app.db!, "evaluator", "eva@example.test");
    idp.user = { sub: "sub-eva", email: "EVA@example.test", email_verified: true };
    const page = await ssoSignIn();
    expect(await page.getByTestId("user-label").textContent()).toContain("eva@example.test · evaluator");
    expect(await app.db!.prisma.user.count({ where: { email: evaluator.email } })).toBe(1);
  });

  it("refuses a disabled user and an unverified e-mail address", async () => {
    const disabled = await makeUser(app.db!, "viewer", "gone@example.test");
    await app.db!.prisma.user.update({ where: { id: disabled.id }, data: { disabledAt: new Date() } });
    idp.user = { sub: "sub-gone", email: "gone@example.test", email_verified: true };
    let page = await ssoSignIn();
    expect(page.url()).toContain("/signin?error=disabled");
    expect(await page.getByText("Your account is disabled").isVisible()).toBe(true);
    expect((await page.context().cookies()).some((c) => c.name === "next-auth.session-token")).toBe(false);

    idp.user = { sub: "sub-unverified", email: "someone.else@example.test", email_verified: false };
    page = await ssoSignIn();
    expect(page.url()).toContain("/signin?error=unverified_email");
    expect(await app.db!.prisma.user.findUnique({ where: { email: "someone.else@example.test" } })).toBeNull();
  });
});
