// Budgets over HTTP against the built app on PostgreSQL with the fake Ollama: an admin sets a budget through
// the API (refusals for a viewer and for a budget without its user), every surface — POST /api/evaluate, /v1
// through the official `openai` client, the MCP server through the MCP SDK's client — reports the budget, in
// budget mode from the threshold, and refuses at 100% with 429 naming the budget — use made elsewhere (here: set
// in the table) shows within the app's budget lease's lifetime (LEASE_MS). The admin page, in Chromium,
// charts the ledger, lists the budgets and sets a new one.
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import OpenAI from "openai";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startConnectWorld, type ConnectWorld } from "@/tests/e2e/connect-fixtures";
import { makeApiKey, makeUser, signIn, type TestUser } from "@/tests/helpers/auth";
import { launchBrowser } from "@/tests/helpers/browser";
import { until } from "@/tests/helpers/until";
import { LEASE_MS } from "@/lib/usage/lease";

const QUESTION = "How many days of paid leave do employees get per year?";

describe("budgets over HTTP", () => {
  let w: ConnectWorld;
  let admin: TestUser;
  let adminKey: string;
  let asker: TestUser;
  let askerKey: string;
  let budgetId: string;
  let browser: Browser | undefined;

  const api = (path: string, key: string, init: { method?: string; json?: unknown } = {}) =>
    fetch(`${w.app.baseUrl}${path}`, {
      method: init.method ?? (init.json ? "POST" : "GET"),
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      body: init.json === undefined ? undefined : JSON.stringify(init.json),
    });
  const askJson = (key: string) => api("/api/evaluate", key, { json: { question: QUESTION, stream: false } });
  const setUsed = (used: number) => w.app.db!.sql`UPDATE budgets SET used = ${used} WHERE id = ${budgetId}::uuid`;
  async function mcpAsk(key: string): Promise<CallToolResult> {
    const transport = new StreamableHTTPClientTransport(new URL(`${w.app.baseUrl}/api/mcp`), { requestInit: { headers: { authorization: `Bearer ${key}` } } });
    const client = new Client({ name: "sot-guardrails-e2e", version: "1.0.0" });
    await client.connect(transport);
    try {
      return (await client.callTool({ name: "ask", arguments: { question: QUESTION } })) as CallToolResult;
    } finally {
      await client.close();
    }
  }

  beforeAll(async () => {
    w = await startConnectWorld();
    const db = w.app.db!;
    admin = await makeUser(db, "admin");
    adminKey = (await makeApiKey(db, ["ask", "score", "import", "admin"], { creator: admin })).key;
    asker = await makeUser(db, "viewer");
    askerKey = (await makeApiKey(db, ["ask"], { creator: asker })).key;
  }, 300_000);
  afterAll(async () => {
    await browser?.close();
    await w?.stop();
  });

  it("lets an admin set a budget through the API, refuses a viewer, and names a missing field", async () => {
    const denied = await api("/api/admin/budgets", askerKey, { method: "PUT", json: { scopeKind: "global", metric: "tokens", period: "day", limit: 10 } });
    expect(denied.status).toBe(403);
    const bad = await api("/api/admin/budgets", adminKey, { method: "PUT", json: { scopeKind: "user", metric: "tokens", period: "day", limit: 10 } });
    expect(bad.status).toBe(400);
    expect((await bad.json()).error.details).toEqual([expect.objectContaining({ path: "scopeId" })]);
    const res = await api("/api/admin/budgets", adminKey, { method: "PUT", json: { scopeKind: "user", scopeId: asker.id, metric: "tokens", period: "day", limit: 1_000_000, modeThreshold: 0.5 } });
    expect(res.status).toBe(200);
    const { budget } = await res.json();
    expect(budget).toMatchObject({ scopeKind: "user", scopeId: asker.id, scopeLabel: asker.email, limit: 1_000_000, modeThreshold: 0.5, state: "normal" });
    budgetId = budget.id;
    expect((await api("/api/admin/budgets", askerKey)).status).toBe(403);
  });

  it("reports the budget in every answer, in budget mode from the threshold", async () => {
    const normal = await (await askJson(askerKey)).json();
    expect(normal.budget).toMatchObject({ mode: "normal", limit: 1_000_000, metric: "tokens", period: "day" });

    // Use made elsewhere: the app sees it once its lease of the budget is renewed, within LEASE_MS.
    await setUsed(600_000);
    const changed = Date.now();
    const degraded = await until("budget mode", async () => {
      const body = await (await askJson(askerKey)).json();
      return body.budget?.mode === "budget" ? body : null;
    }, 10_000);
    expect(Date.now() - changed).toBeLessThan(LEASE_MS + 3000); // the lease's lifetime and one request
    expect(degraded.budget).toMatchObject({ mode: "budget", limit: 1_000_000, name: `daily token budget of user ${asker.id}` });
    expect(degraded.model).toBe("qwen2.5:32b");

    const completion = await new OpenAI({ baseURL: `${w.app.baseUrl}/v1`, apiKey: askerKey, maxRetries: 0 }).chat.completions.create({
      model: "handbook",
      messages: [{ role: "user", content: QUESTION }],
    });
    expect((completion as unknown as { sot: { budget: Record<string, unknown> } }).sot.budget).toMatchObject({ mode: "budget", limit: 1_000_000, metric: "tokens" });

    const tool = await mcpAsk(askerKey);
    expect(tool.isError).toBeFalsy();
    expect((tool.structuredContent as { budget: Record<string, unknown> }).budget).toMatchObject({ mode: "budget", limit: 1_000_000 });
  });

  it("refuses new work at 100% with 429 naming the budget and until when, on every surface", async () => {
    await setUsed(1_000_000);
    const changed = Date.now();
    const res = await until("the refusal", async () => {
      const r = await askJson(askerKey);
      return r.status === 429 ? r : (await r.arrayBuffer(), null);
    }, 10_000);
    expect(Date.now() - changed).toBeLessThan(LEASE_MS + 3000); // the lease's lifetime and one request
    expect(res.status).toBe(429);
    expect(res.headers.get("retry-after")).toMatch(/^\d+$/);
    const body = await res.json();
    expect(body.error.code).toBe("budget_exhausted");
    expect(body.error.message).toMatch(new RegExp(`^The daily token budget of user ${asker.id} is used up; new work is refused until \\d{4}-\\d{2}-\\d{2}T`));

    const err = await new OpenAI({ baseURL: `${w.app.baseUrl}/v1`, apiKey: askerKey, maxRetries: 0 }).chat.completions
      .create({ model: "handbook", messages: [{ role: "user", content: QUESTION }] })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.RateLimitError);
    expect((err as InstanceType<typeof OpenAI.RateLimitError>).code).toBe("budget_exhausted");

    const tool = await mcpAsk(askerKey);
    expect(tool.isError).toBe(true);
    expect(JSON.stringify(tool.content)).toContain("is used up; new work is refused until");

    // Someone else is not affected.
    expect((await askJson(adminKey)).status).toBe(200);
  });

  it("shows the ledger and the budgets on the admin page, and sets a budget from it", async () => {
    browser = await launchBrowser();
    const page = await browser.newPage();
    await signIn(page, w.app.baseUrl, admin);
    await page.goto(`${w.app.baseUrl}/admin/usage`);
    await page.getByTestId("gpu-chart").waitFor();
    expect(await page.getByTestId("gpu-chart-bar").count()).toBeGreaterThan(0);
    expect(await page.getByTestId("tokens-chart-bar").count()).toBeGreaterThan(0);
    // The asker asked with a key: its calls are listed under the key, with whom it acts for.
    await expect.poll(() => page.getByTestId("usage-principals").innerText()).toContain(`key test ask (${asker.email})`);
    const row = page.locator(`[data-budget="user:${asker.email}"]`);
    expect(await row.innerText()).toContain("exhausted");

    const form = page.getByRole("form", { name: "Set a budget" });
    await form.getByLabel("For").selectOption("global");
    await form.getByLabel("Metric").selectOption("gpu_seconds");
    await form.getByLabel("Per").selectOption("month");
    await form.getByLabel("Limit").fill("5000");
    await form.getByRole("button", { name: "Save budget" }).click();
    await page.locator('[data-budget="global:everyone"]').waitFor({ timeout: 15_000 });
    expect(await page.locator('[data-budget="global:everyone"]').innerText()).toMatch(/5\.0k GPU-seconds \/ month/);
    const audit = await w.app.db!.prisma.auditLog.findMany({ where: { action: "budget.create" }, select: { actorLabel: true } });
    expect(audit.map((a) => a.actorLabel)).toContain(admin.email);
  });

  it("raises a budget only with a second admin's approval of exactly that budget; lowering one applies at once", async () => {
    const budget = (limit: number) => ({ scopeKind: "user", scopeId: asker.id, metric: "tokens", period: "day", limit, modeThreshold: 0.5 });
    const current = async () => (await w.app.db!.prisma.budget.findUniqueOrThrow({ where: { id: budgetId } })).limitValue;
    const raise = await api("/api/admin/budgets", adminKey, { method: "PUT", json: budget(2_000_000) });
    expect(raise.status).toBe(202);
    const { approval } = await raise.json();
    expect(approval).toMatchObject({ action: "budget.raise", status: "pending" });
    expect(Number(await current())).toBe(1_000_000); // nothing changed yet
    // Lowering needs no one's approval.
    expect((await api("/api/admin/budgets", adminKey, { method: "PUT", json: budget(900_000) })).status).toBe(200);
    expect(Number(await current())).toBe(900_000);
    // The asker cannot approve (not an admin), nor the admin who asked; a second admin can.
    expect((await api(`/api/approvals/${approval.id}/decision`, adminKey, { method: "POST", json: { decision: "approve", comment: "mine" } })).status).toBe(403);
    const second = (await makeApiKey(w.app.db!, ["admin"], { creator: await makeUser(w.app.db!, "admin") })).key;
    expect((await api(`/api/approvals/${approval.id}/decision`, second, { method: "POST", json: { decision: "approve", comment: "quarter-end evaluation" } })).status).toBe(200);
    await expect.poll(async () => Number(await current()), { timeout: 30_000 }).toBe(2_000_000);
  });
});
