// Approvals, notifications and Insights on the built app (real server, PostgreSQL, Chromium): the API's
// refusals; an admin deletes a collection and the page says it waits for approval; another admin approves
// it on Admin → Approvals and the collection is gone; a webhook target added on Admin → Notifications
// shows its signing secret once and receives the approval events; an evaluator's Insights page.
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateMasterKey } from "@/lib/crypto/keys";
import { startHttpReceiver, type HttpReceiver } from "@/tests/fakes/notify-receivers";
import { startApp, type RunningApp } from "@/tests/helpers/app";
import { makeApiKey, makeUser, signIn, type TestUser } from "@/tests/helpers/auth";
import { launchBrowser } from "@/tests/helpers/browser";

const key = generateMasterKey();
let app: RunningApp;
let browser: Browser;
let receiver: HttpReceiver;
let adminA: TestUser;
let adminB: TestUser;

async function api(method: string, path: string, headers: Record<string, string>, body?: unknown) {
  const res = await fetch(`${app.baseUrl}${path}`, {
    method,
    headers: { ...headers, ...(body === undefined ? {} : { "content-type": "application/json" }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, text, json: text ? JSON.parse(text) : null };
}

async function withPage<T>(user: TestUser, fn: (page: Page) => Promise<T>): Promise<T> {
  const context = await browser.newContext();
  const page = await context.newPage();
  try {
    await signIn(page, app.baseUrl, user);
    return await fn(page);
  } finally {
    await context.close();
  }
}

beforeAll(async () => {
  receiver = await startHttpReceiver();
  app = await startApp({ env: { MASTER_KEYS: `${key.id}:${key.key.toString("base64")}`, OUTBOUND_ALLOW: "127.0.0.1" } });
  browser = await launchBrowser();
  adminA = await makeUser(app.db!, "admin");
  adminB = await makeUser(app.db!, "admin");
}, 300_000);

afterAll(async () => {
  await browser?.close();
  await app?.stop();
  await receiver?.close();
});

describe("approvals API", () => {
  it("refuses the requester, non-admins and decisions without a comment, naming what is wrong", async () => {
    const a = await makeApiKey(app.db!, ["ask", "admin"], { creator: adminA });
    const b = await makeApiKey(app.db!, ["ask", "admin"], { creator: adminB });
    const viewer = await makeApiKey(app.db!, ["ask"], { creator: await makeUser(app.db!, "viewer") });
    const collection = await api("POST", "/api/admin/collections", a.headers, { slug: `api-${Date.now()}`, name: "API test" });
    const asked = await api("DELETE", `/api/admin/collections/${collection.json.id}`, a.headers);
    expect(asked.status).toBe(202);
    expect(asked.json).toMatchObject({ status: "waiting_for_approval", approval: { action: "collection.delete", status: "pending" } });
    const id = asked.json.approval.id;

    const self = await api("POST", `/api/approvals/${id}/decision`, a.headers, { decision: "approve", comment: "mine" });
    expect(self.status).toBe(403);
    expect(self.json.error.message).toMatch(/no self-approval/);
    expect((await api("POST", `/api/approvals/${id}/decision`, viewer.headers, { decision: "approve", comment: "x" })).status).toBe(403);
    const noComment = await api("POST", `/api/approvals/${id}/decision`, b.headers, { decision: "approve", comment: "" });
    expect(noComment.status).toBe(400);
    expect(noComment.json.error.details).toEqual([expect.objectContaining({ path: "comment" })]);
    expect((await api("GET", `/api/approvals/${id}`, viewer.headers)).status).toBe(404);
    expect((await api("GET", "/api/approvals/not-an-id", b.headers)).status).toBe(400);
    const commandOnly = await api("POST", "/api/approvals", b.headers, { action: "collection.delete", args: { collectionId: collection.json.id } });
    expect(commandOnly.status).toBe(400);

    const rejected = await api("POST", `/api/approvals/${id}/decision`, b.headers, { decision: "reject", comment: "kept for the audit" });
    expect(rejected.json).toMatchObject({ status: "rejected", decisions: [{ decision: "reject", comment: "kept for the audit" }] });
    expect((await api("GET", "/api/admin/collections", b.headers)).text).toContain(collection.json.id);
  });
});

describe("pages", () => {
  it("a webhook target added on Admin → Notifications shows its signing secret once", async () => {
    await withPage(adminB, async (page) => {
      await page.goto(`${app.baseUrl}/admin/notifications`);
      await page.getByText("No notification targets yet.").waitFor();
      const form = page.getByRole("form", { name: "Add a notification target" });
      await form.getByLabel("Kind").selectOption("webhook");
      await form.getByLabel("Name").fill("Ops receiver");
      await form.getByLabel("URL").fill(`${receiver.url}/sot-events`);
      await form.getByRole("checkbox", { name: "Approval requested" }).check();
      await form.getByRole("checkbox", { name: "Approval decided, expired or run" }).check();
      await form.getByRole("button", { name: "Add target" }).click();
      await expect.poll(async () => (await page.getByTestId("signing-secret").textContent()) ?? "", { timeout: 15_000 }).toMatch(/whsec_/);
      const row = page.getByTestId("notification-targets").locator("tbody tr").first();
      await row.getByText("Ops receiver").waitFor();
      expect(await row.textContent()).toContain(new URL(receiver.url).host);
      expect(await row.textContent()).not.toContain("sot-events");
      await page.reload();
      expect(await page.getByTestId("signing-secret").count()).toBe(0);
    });
  }, 120_000);

  it("a deleted collection waits for approval; another admin approves on Admin → Approvals and it is gone", async () => {
    const slug = `handbook-${Date.now()}`;
    const collectionId = (await app.db!.prisma.collection.create({ data: { slug, name: "Old handbook" } })).id;
    await withPage(adminA, async (page) => {
      await page.goto(`${app.baseUrl}/admin/collections`);
      const card = page.locator(`[data-collection="${slug}"]`);
      await card.getByRole("button", { name: "Delete collection…" }).click();
      await page.getByRole("dialog").getByRole("button", { name: "Ask for approval" }).click();
      const notice = card.getByTestId("waiting-for-approval");
      await notice.waitFor({ timeout: 15_000 });
      const text = await notice.textContent();
      expect(text).toContain("Nothing has run yet.");
      expect(text).toContain("Waiting for approval: Delete collection");
    });
    expect(await app.db!.prisma.collection.count({ where: { id: collectionId } })).toBe(1);
    await receiver.waitFor(1);
    expect(JSON.parse(receiver.received[0]!.body)).toMatchObject({ event: "approval.requested", action: "collection.delete" });

    await withPage(adminB, async (page) => {
      await page.goto(`${app.baseUrl}/admin/approvals`);
      const card = page.getByTestId("approval-queue").locator(`[data-status="pending"]`).filter({ hasText: collectionId });
      await card.getByLabel("Comment (required)").fill("Superseded by the new handbook.");
      await card.getByRole("button", { name: "Approve" }).click();
      await page.getByRole("dialog").getByRole("button", { name: "Approve" }).click();
      // The job carries it out right after approval; the page shows it in the history.
      const done = page.getByTestId("approval-history").locator("tbody tr[data-status='executed']").filter({ hasText: collectionId });
      await expect.poll(async () => done.count(), { timeout: 60_000, interval: 1000 }).toBe(1);
    });
    expect(await app.db!.prisma.collection.count({ where: { id: collectionId } })).toBe(0);
    await receiver.waitFor(3);
    expect(receiver.received.map((r) => JSON.parse(r.body)).filter((b) => b.event === "approval.decided").map((b) => b.status).sort()).toEqual(["approved", "executed"]);
  }, 180_000);

  it("an evaluator's Insights page shows the figures with charts", async () => {
    const evaluator = await makeUser(app.db!, "evaluator");
    await withPage(evaluator, async (page) => {
      await page.goto(`${app.baseUrl}/insights?days=30`);
      await page.getByRole("heading", { name: "Insights" }).waitFor();
      expect(await page.getByTestId("insight-questions").textContent()).toBe("0");
      await page.getByTestId("insight-questions-chart").waitFor();
      expect(await page.getByText("Your own questions").count()).toBe(1);
      expect(await page.getByText("Backups succeeded").count()).toBe(0); // instance-wide: admins only
    });
  }, 120_000);
});
