// Schedules on the built app (real server, PostgreSQL, Chromium): the API's answers and permissions,
// then a person creating a schedule on the page, running it now and finding the run in its history.
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startWebhookSink, type WebhookSink } from "@/tests/fakes/schedule-webhook-sink";
import { startApp, type RunningApp } from "@/tests/helpers/app";
import { makeApiKey, makeUser, signIn, type TestUser } from "@/tests/helpers/auth";
import { launchBrowser } from "@/tests/helpers/browser";
import { until } from "@/tests/helpers/until";

let app: RunningApp;
let sink: WebhookSink;
let browser: Browser;
let admin: Record<string, string>;
let keyCreator: TestUser;

beforeAll(async () => {
  sink = await startWebhookSink();
  // WORKERS_IN_PROCESS (set by startApp): the web process runs the scheduler loop itself.
  app = await startApp({ env: { OUTBOUND_ALLOW: "127.0.0.1", SCHEDULER_POLL_MS: "200" } });
  keyCreator = await makeUser(app.db!, "admin");
  admin = { ...(await makeApiKey(app.db!, ["admin"], { creator: keyCreator })).headers, "content-type": "application/json" };
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
  await app?.stop();
  await sink?.close();
});

const api = (path: string, init: RequestInit = {}) => fetch(`${app.baseUrl}/api/schedules${path}`, { ...init, headers: { ...admin, ...init.headers } });

describe("schedules API", () => {
  it("needs an admin", async () => {
    expect((await fetch(`${app.baseUrl}/api/schedules`)).status).toBe(401);
    const ask = await makeApiKey(app.db!, ["ask"]);
    expect((await fetch(`${app.baseUrl}/api/schedules`, { headers: ask.headers })).status).toBe(403);
  });

  it("answers bad input with 400 naming the field, unknown ids with 404", async () => {
    const bad = async (body: unknown) => {
      const res = await api("", { method: "POST", body: JSON.stringify(body) });
      expect(res.status).toBe(400);
      return (await res.json()).error.details.map((d: { path: string }) => d.path);
    };
    const base = { name: "x", target: { kind: "webhook", config: { url: sink.url } } };
    expect(await bad({ ...base, cron: "0 25 * * *" })).toEqual(["cron"]);
    expect(await bad({ ...base, cron: "0 2 * * *", timeZone: "Europe/Atlantis" })).toEqual(["timeZone"]);
    expect(await bad({ ...base, intervalMinutes: 10, maxConcurrent: 1000 })).toEqual(["maxConcurrent"]);
    expect(await bad({ ...base, intervalMinutes: 10, timeoutMinutes: 0 })).toEqual(["timeoutMinutes"]);
    expect(await bad({ ...base, intervalMinutes: "often" })).toEqual(["intervalMinutes"]);
    expect(await bad({ ...base, intervalMinutes: 10, target: { kind: "webhook", config: {} } })).toEqual(["target.config.url"]);
    expect(await bad({ ...base, intervalMinutes: 10, runAsUserId: "00000000-0000-4000-8000-000000000000" })).toEqual(["runAsUserId"]);
    expect((await api("/00000000-0000-4000-8000-000000000000")).status).toBe(404);
    expect((await api("/not-an-id")).status).toBe(400);
    expect((await api("/00000000-0000-4000-8000-000000000000/run-now", { method: "POST" })).status).toBe(404);
  });

  it("creates, edits, runs now, disables and deletes", async () => {
    const created = await api("", {
      method: "POST",
      body: JSON.stringify({ name: "Berlin 03:00", target: { kind: "webhook", config: { url: sink.url } }, cron: "0 3 * * *", timeZone: "Europe/Berlin" }),
    });
    expect(created.status).toBe(201);
    const s = await created.json();
    expect(s).toMatchObject({
      enabled: true,
      cron: "0 3 * * *",
      timeZone: "Europe/Berlin",
      // Made with a key: it runs as the key's creator unless told otherwise.
      runAsUserId: keyCreator.id,
      lastRunAt: null,
      target: { kind: "webhook", summary: expect.stringMatching(/^POST to 127\.0\.0\.1:\d+$/) },
    });
    // 03:00 in Berlin is 01:00 or 02:00 UTC depending on the season
    expect(new Date(s.nextRunAt).getUTCMinutes()).toBe(0);
    expect([1, 2]).toContain(new Date(s.nextRunAt).getUTCHours());

    const patched = await (await api(`/${s.id}`, { method: "PATCH", body: JSON.stringify({ intervalMinutes: 90 }) })).json();
    expect(patched).toMatchObject({ intervalMinutes: 90, cron: null });

    const started = await api(`/${s.id}/run-now`, { method: "POST" });
    expect(started.status).toBe(202);
    const { run } = await started.json();
    expect(run).toMatchObject({ trigger: "manual", scheduleId: s.id });
    const history = await until("the manual run to succeed", async () => {
      const h = (await (await api(`/${s.id}/history`)).json()).runs;
      return h[0]?.status === "succeeded" ? h : undefined;
    });
    expect(history).toEqual([expect.objectContaining({ id: run.id, trigger: "manual", status: "succeeded", result: { kind: "http_response", id: "204" } })]);
    expect(sink.notices.filter((n) => n.run.id === run.id)).toHaveLength(1);

    expect(await (await api(`/${s.id}/disable`, { method: "POST" })).json()).toMatchObject({ enabled: false, nextRunAt: null });
    const list = (await (await api("")).json()).schedules;
    expect(list.find((x: { id: string }) => x.id === s.id)).toMatchObject({ enabled: false, lastRun: { id: run.id, status: "succeeded" } });
    expect((await api(`/${s.id}/enable`, { method: "POST" }).then((r) => r.json())).nextRunAt).not.toBeNull();
    expect((await api(`/${s.id}`, { method: "DELETE" })).status).toBe(204);
    expect((await api(`/${s.id}`)).status).toBe(404);

    // Every change is in the audit log: who, what, when.
    const audited = await app.db!.prisma.auditLog.findMany({ where: { target: `schedule:${s.id}` }, orderBy: { at: "asc" } });
    expect(audited.map((a) => a.action)).toEqual([
      "schedule.create",
      "schedule.update",
      "schedule.run_now",
      "schedule.disable",
      "schedule.enable",
      "schedule.delete",
    ]);
    expect(new Set(audited.map((a) => a.actorLabel)).size).toBe(1);
    expect(audited[0]!.actorLabel).toMatch(/^key:/);
  });
});

describe("the scheduler inside the web process", () => {
  it("starts a due schedule by itself, once", async () => {
    const s = await (
      await api("", { method: "POST", body: JSON.stringify({ name: "in-process", target: { kind: "webhook", config: { url: sink.url } }, intervalMinutes: 720 }) })
    ).json();
    const dueAt = new Date(Date.now() - 1000);
    await app.db!.prisma.schedule.update({ where: { id: s.id }, data: { nextRunAt: dueAt } });
    const runs = await until("the scheduled run to succeed", async () => {
      const h = (await (await api(`/${s.id}/history`)).json()).runs;
      return h[0]?.status === "succeeded" ? h : undefined;
    });
    expect(runs).toEqual([expect.objectContaining({ trigger: "schedule", status: "succeeded", dueAt: dueAt.toISOString() })]);
    await new Promise((r) => setTimeout(r, 1000)); // several more polls
    expect((await (await api(`/${s.id}/history`)).json()).runs).toHaveLength(1);
    expect(Date.parse((await (await api(`/${s.id}`)).json()).nextRunAt)).toBeGreaterThan(Date.now());
  });
});

describe("schedules page", () => {
  it("creates a schedule, runs it now and shows the run in its history", async () => {
    const user = await makeUser(app.db!, "admin");
    const evaluator = await makeUser(app.db!, "evaluator");
    const page = await browser.newPage();
    await signIn(page, app.baseUrl, user);
    await page.goto(`${app.baseUrl}/schedules`);
    await page.getByRole("link", { name: "New schedule" }).click();
    await page.waitForURL(`${app.baseUrl}/schedules/new`);
    await page.locator('form[data-ready="true"]').waitFor();

    await page.getByLabel("Name").fill("Nightly ping");
    // Runs as the admin creating it by default; here, as an evaluator.
    expect(await page.getByLabel("Runs as").inputValue()).toBe(user.id);
    await page.getByLabel("Runs as").selectOption(evaluator.id);
    await page.getByLabel("Target").selectOption("webhook");
    await page.getByLabel("Webhook URL").fill(sink.url);
    // A wrong cron is refused with the reason next to the field.
    await page.getByLabel("Cron expression").check();
    await page.getByLabel("Cron", { exact: true }).fill("61 2 * * *");
    await page.getByLabel("Time zone").fill("America/New_York");
    await page.getByRole("button", { name: "Create schedule" }).click();
    await page.locator('[data-field-error="cron"]').waitFor();
    expect(await page.locator('[data-field-error="cron"]').textContent()).toBe("minute field: 61 is out of range 0-59");

    await page.getByLabel("Cron", { exact: true }).fill("30 2 * * *");
    await page.getByRole("button", { name: "Create schedule" }).click();
    await page.waitForURL(/\/schedules\/[0-9a-f-]{36}$/);
    const id = page.url().split("/").pop()!;
    await page.getByRole("heading", { name: "Nightly ping" }).waitFor();
    expect(await page.getByTestId("schedule-run-as").textContent()).toBe(`${evaluator.email} (evaluator)`);
    await page.locator('form[data-ready="true"]').waitFor({ state: "attached" }); // the page's scripts are running
    expect(await page.getByText("No runs yet.").count()).toBe(1);

    await page.getByRole("button", { name: "Run now" }).click();
    await page.getByRole("status").filter({ hasText: "Run started." }).waitFor();
    const row = page.getByTestId("schedule-history").locator('tr[data-status="succeeded"]');
    await row.waitFor({ timeout: 30_000 });
    expect(await row.textContent()).toMatch(/run now.*succeeded.*HTTP 204/);
    expect(sink.notices.filter((n) => n.schedule.id === id).map((n) => n.trigger)).toEqual(["manual"]);

    // The list shows it with its last run; disabling from the list sticks.
    await page.goto(`${app.baseUrl}/schedules`);
    const listRow = page.locator(`tr[data-schedule-id="${id}"]`);
    await listRow.locator('[role="group"][data-ready="true"]').waitFor();
    expect(await listRow.textContent()).toMatch(/Nightly ping.*POST to 127\.0\.0\.1.*30 2 \* \* \* \(America\/New_York\).*evaluator-.*yes.*succeeded/);
    await listRow.getByRole("button", { name: "Disable" }).click();
    await listRow.getByRole("button", { name: "Enable" }).waitFor();
    const stored = await app.db!.prisma.schedule.findUniqueOrThrow({ where: { id } });
    expect(stored).toMatchObject({ enabled: false, nextRunAt: null, cron: "30 2 * * *", timeZone: "America/New_York", runAsUserId: evaluator.id });
    await page.close();
  });
});
