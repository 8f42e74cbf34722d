// The Connect page in real Chromium: a viewer creates their own key there (limited to the chosen
// collection), gets curl / Node / Python / MCP snippets filled in with it, and the snippets run as
// they are against the server; an existing key's secret can be pasted in; an administrator can pick
// anyone's key; a revoked key stops working.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchBrowser } from "@/tests/helpers/browser";
import { createApiKey, hashApiKey } from "@/lib/auth/api-keys";
import { makeUser, signIn, type TestUser } from "@/tests/helpers/auth";
import { startConnectWorld, type ConnectWorld } from "@/tests/e2e/connect-fixtures";

const ROOT = path.resolve(import.meta.dirname, "..", "..");

function run(command: string, args: string[], cwd: string): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (out += d));
    child.once("exit", (code) => resolve({ code, out }));
  });
}

describe("Connect page (browser)", () => {
  let w: ConnectWorld;
  let browser: Browser;
  let viewer: TestUser;
  let admin: TestUser;
  let dir: string;
  let page: Page;
  let secret: string;

  beforeAll(async () => {
    w = await startConnectWorld();
    viewer = await makeUser(w.app.db!, "viewer");
    admin = await makeUser(w.app.db!, "admin");
    browser = await launchBrowser();
    page = await (await browser.newContext()).newPage();
    await signIn(page, w.app.baseUrl, viewer);
    dir = mkdtempSync(path.join(tmpdir(), "sot-connect-"));
    // The Node snippet imports "openai": give it the project's packages.
    symlinkSync(path.join(ROOT, "node_modules"), path.join(dir, "node_modules"));
  });
  afterAll(async () => {
    await browser?.close();
    await w?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("shows the addresses, creates the viewer's own key limited to the chosen collection and fills it into every snippet", async () => {
    await page.goto(`${w.app.baseUrl}/connect`);
    await expect(page.getByRole("link", { name: "Connect" }).getAttribute("aria-current")).resolves.toBe("page");
    await expect(page.getByTestId("openai-base-url").textContent()).resolves.toBe(`${w.app.baseUrl}/v1`);
    await expect(page.getByTestId("mcp-url").textContent()).resolves.toBe(`${w.app.baseUrl}/api/mcp`);
    // The viewer reads one collection: one model, no `sot`; and has no key yet.
    await expect(page.locator(`select[aria-label="Collection"]`).locator("option").allTextContents()).resolves.toEqual(["Employee Handbook (handbook)"]);
    await expect(page.locator(`select[aria-label="API key"]`).inputValue()).resolves.toBe("new");
    const form = page.getByRole("form", { name: "Create a key" });
    await form.getByLabel("Name").fill("My editor");
    await form.getByLabel(/only the collection/).check();
    await form.getByRole("button", { name: "Create key" }).click();
    await page.getByTestId("key-secret-note").waitFor();
    const curl = (await page.getByTestId("snippet-curl").textContent())!;
    secret = /Bearer (sot_[a-z0-9]{8}_[A-Za-z0-9_-]{43})/.exec(curl)![1]!;
    for (const id of ["node", "python", "claude", "vscode"]) await expect(page.getByTestId(`snippet-${id}`).textContent()).resolves.toContain(secret);
    const vscode = JSON.parse((await page.getByTestId("snippet-vscode").textContent())!);
    expect(vscode.servers.sot).toEqual({ type: "http", url: `${w.app.baseUrl}/api/mcp`, headers: { Authorization: `Bearer ${secret}` } });
    const stored = await w.app.db!.prisma.apiKey.findFirstOrThrow({ where: { name: "My editor" } });
    expect(stored.createdById).toBe(viewer.id);
    expect(stored.collectionIds).toEqual([w.collections.handbook]);
    expect(stored.scopes).toEqual(["ask"]);
    expect(JSON.stringify(stored)).not.toContain(secret);
  });

  it("the curl and Node snippets run as shown and answer from the chosen collection", async () => {
    const curl = (await page.getByTestId("snippet-curl").textContent())!;
    const shell = await run("bash", ["-c", curl], dir);
    expect(shell.code, shell.out).toBe(0);
    const completion = JSON.parse(shell.out);
    expect(completion.object).toBe("chat.completion");
    expect(completion.model).toBe("handbook");
    expect(completion.sot.collections.map((c: { slug: string }) => c.slug)).toEqual(["handbook"]);
    expect(completion.choices[0].message.content).toMatch(/fifteen minutes/);

    writeFileSync(path.join(dir, "ask.mjs"), (await page.getByTestId("snippet-node").textContent())!);
    const node = await run(process.execPath, ["ask.mjs"], dir);
    expect(node.code, node.out).toBe(0);
    expect(node.out).toMatch(/fifteen minutes/);
  });

  it("fills in a pasted secret for an existing key, and lets an administrator pick anyone's key", async () => {
    await page.reload();
    const option = page.locator(`select[aria-label="API key"]`).locator("option").first();
    await expect(option.textContent()).resolves.toMatch(/^My editor \(sot_[a-z0-9]{8}_…\)$/);
    // Without the secret, the snippets carry the key's prefix as a placeholder.
    await expect(page.getByTestId("snippet-curl").textContent()).resolves.toMatch(/Bearer sot_[a-z0-9]{8}_…/);
    await page.getByLabel("Paste the key").fill("sot_wrongpre_" + "x".repeat(43));
    await expect(page.getByTestId("snippet-curl").textContent()).resolves.not.toContain("sot_wrongpre_");
    await page.getByLabel("Paste the key").fill(secret);
    await expect(page.getByTestId("snippet-python").textContent()).resolves.toContain(`api_key="${secret}"`);

    const adminPage = await (await browser.newContext()).newPage();
    await signIn(adminPage, w.app.baseUrl, admin);
    await adminPage.goto(`${w.app.baseUrl}/connect`);
    const options = await adminPage.locator(`select[aria-label="API key"]`).locator("option").allTextContents();
    const { prefix } = await w.app.db!.prisma.apiKey.findFirstOrThrow({ where: { name: "My editor" } });
    expect(options).toContain(`My editor (sot_${prefix}_…) — ${viewer.email}`);
    // Several readable collections: `sot` (all of them) comes first.
    await expect(adminPage.locator(`select[aria-label="Collection"]`).locator("option").first().textContent()).resolves.toBe("every collection (sot)");
    await adminPage.context().close();
  });

  it("revokes the viewer's own key through the API, after which the snippet's key is refused", async () => {
    const status = await page.evaluate(async () => {
      const { keys } = await (await fetch("/api/keys")).json();
      const res = await fetch(`/api/keys/${keys[0].id}`, { method: "DELETE" });
      return res.status;
    });
    expect(status).toBe(200);
    const res = await fetch(`${w.app.baseUrl}/v1/models`, { headers: { authorization: `Bearer ${secret}` } });
    expect(res.status).toBe(401);
    // Someone else's key is "not found" to a viewer.
    const adminKey = await w.app.db!.prisma.apiKey.findFirstOrThrow({ where: { createdById: { not: viewer.id } }, select: { id: true } });
    expect(await page.evaluate(async (id) => (await fetch(`/api/keys/${id}`, { method: "DELETE" })).status, adminKey.id)).toBe(404);
  });

  it("gives a key as its own keys itself and the keys made with it, not its creator's other keys", async () => {
    const db = w.app.db!;
    const parent = await db.prisma.apiKey.findUniqueOrThrow({ where: { keyHash: hashApiKey(w.keys.viewer) } });
    const sibling = await createApiKey(db, { name: "sibling", scopes: ["ask"], createdById: parent.createdById });
    const asKey = (key: string, path: string, init: RequestInit = {}) =>
      fetch(`${w.app.baseUrl}${path}`, { ...init, headers: { authorization: `Bearer ${key}`, "content-type": "application/json" } });
    const created = await asKey(w.keys.viewer, "/api/keys", { method: "POST", body: JSON.stringify({ name: "child", scopes: ["ask"] }) });
    expect(created.status).toBe(201);
    const child = await created.json();
    expect((await db.prisma.apiKey.findUniqueOrThrow({ where: { id: child.id } })).parentKeyId).toBe(parent.id);
    const listed = (await (await asKey(w.keys.viewer, "/api/keys")).json()).keys.map((k: { name: string }) => k.name);
    expect(listed.sort()).toEqual(["child", parent.name].sort());
    expect((await asKey(w.keys.viewer, `/api/keys/${sibling.record.id}`, { method: "DELETE" })).status).toBe(404);
    expect((await asKey(w.keys.viewer, `/api/keys/${child.id}`, { method: "DELETE" })).status).toBe(200);
    expect((await asKey(child.key, "/v1/models")).status).toBe(401);
  });
});
