// Circuit breakers per agent token over HTTP: the built app as a real server, KES as its own process (it
// resolves the same tokens without counting them). A token stops at its call limit, at its limit of
// refused or failed calls and at its expiry, each time with 429 "stopped: limit reached (…)" naming the
// limit; an admin resumes it through the API and on /admin/agents (Chromium). Calls through a delegated
// token count against its parent too, and a delegated token is never given more than its parent has left.
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startApp, type RunningApp } from "@/tests/helpers/app";
import { makeUser, signIn, type TestUser } from "@/tests/helpers/auth";
import { launchBrowser } from "@/tests/helpers/browser";
import { createTestDb, type TestDb } from "@/tests/helpers/db";
import { keyCaller, send, sendOk, userCaller, type Caller } from "@/tests/helpers/http";
import { startKesProcess, type KesProcess } from "@/tests/helpers/kes-process";

let db: TestDb;
let kes: KesProcess;
let app: RunningApp;
let adminUser: TestUser;
let admin: Caller;
let viewer: Caller;
let browser: Browser | undefined;
const credentials: Record<string, string> = {};

beforeAll(async () => {
  db = await createTestDb();
  kes = await startKesProcess({ databaseUrl: db.url, services: ["sot-web"] });
  app = await startApp({
    db,
    env: { KES_URL: kes.url, KES_TOKEN: kes.tokens["sot-web"]!, RATE_LIMIT_BURST: "100000", RATE_LIMIT_PER_MINUTE: "100000" },
  });
  adminUser = await makeUser(db, "admin");
  admin = await userCaller(app.baseUrl, "admin", adminUser);
  viewer = await userCaller(app.baseUrl, "viewer", await makeUser(db, "viewer"));
  for (const name of ["lim-a", "lim-b"]) {
    credentials[name] = (await sendOk(app.baseUrl, admin, "POST", "/api/agents", { name }, 201)).json.credential;
  }
}, 400_000);

afterAll(async () => {
  await browser?.close();
  await app?.stop();
  await kes?.stop();
  await db?.drop();
});

const as = (bearer: string): Caller => keyCaller("agent", bearer);
async function token(bearer: string, body: Record<string, unknown>): Promise<{ token: string; id: string }> {
  const res = await sendOk(app.baseUrl, as(bearer), "POST", "/api/agents/tokens", body, 201);
  return { token: res.json.token, id: res.json.id };
}
const tokenView = async (id: string) => {
  const res = await sendOk(app.baseUrl, admin, "GET", "/api/agents/tokens", undefined, 200);
  return res.json.tokens.find((t: { id: string }) => t.id === id);
};
const resume = (id: string, body: unknown, caller: Caller = admin) => send(app.baseUrl, caller, "POST", `/api/agents/tokens/${id}/resume`, body);

describe("agent token limits over HTTP", () => {
  it("refuse limits that are not whole numbers of at least 1, naming the field", async () => {
    for (const [field, value] of [["maxCalls", -1], ["maxCalls", 1.5], ["maxFailures", 0], ["maxFailures", "3"]] as const) {
      const res = await send(app.baseUrl, as(credentials["lim-a"]!), "POST", "/api/agents/tokens", { [field]: value });
      expect(res.status).toBe(400);
      expect(res.json.error.details).toEqual([expect.objectContaining({ path: field })]);
    }
  });

  it("stop a token at its call limit with 429 naming it, through the cubby and KES paths; an admin resumes it", async () => {
    const t = await token(credentials["lim-a"]!, { maxCalls: 3, ttlSeconds: 600 });
    const a = as(t.token);
    await sendOk(app.baseUrl, a, "POST", "/api/cubbies", { name: "limits" }, 201); // 1 (the web process and KES)
    await sendOk(app.baseUrl, a, "PUT", "/api/cubbies/limits/items/state", { value: { step: 1 } }, [200, 201]); // 2
    await sendOk(app.baseUrl, a, "GET", "/api/cubbies/limits/items/state", undefined, 200); // 3
    const stopped = await send(app.baseUrl, a, "GET", "/api/cubbies/limits/items/state");
    expect(stopped.status).toBe(429);
    expect(stopped.json.error).toMatchObject({ code: "limit_reached", details: { limit: "3 calls", tokenId: t.id } });
    expect(stopped.json.error.message).toMatch(/^stopped: limit reached \(3 calls\); /);
    expect(await tokenView(t.id)).toMatchObject({ status: "stopped", calls: 3, limits: { maxCalls: 3, maxFailures: null } });

    // Only admins resume; bad input names its field; a resume starts the count again with the new limit.
    expect((await resume(t.id, {}, viewer)).status).toBe(403);
    const bad = await resume(t.id, { maxCalls: "lots" });
    expect(bad.status).toBe(400);
    expect(bad.json.error.details).toEqual([expect.objectContaining({ path: "maxCalls" })]);
    const resumed = await resume(t.id, { maxCalls: 5 });
    expect(resumed.status).toBe(200);
    expect(resumed.json).toMatchObject({ id: t.id, status: "active", calls: 0, limits: { maxCalls: 5 } });
    const read = await sendOk(app.baseUrl, a, "GET", "/api/cubbies/limits/items/state", undefined, 200);
    expect(JSON.stringify(read.json)).toContain('"step":1');
    expect((await tokenView(t.id)).calls).toBe(1);
    const audit = await db.prisma.auditLog.findFirst({ where: { action: "agent.token.resume" } });
    expect(audit).not.toBeNull();
  });

  it("count calls through a delegated token against its parent, and never give a child more than its parent has left", async () => {
    const parent = await token(credentials["lim-a"]!, { maxCalls: 4, ttlSeconds: 600 });
    const tooMuch = await send(app.baseUrl, as(parent.token), "POST", "/api/agents/tokens", { agent: "lim-b", maxCalls: 10 }); // parent call 1
    expect(tooMuch.status).toBe(400);
    expect(tooMuch.json.error.details).toEqual([{ path: "maxCalls", message: "at most 3: what the token it is delegated from has left" }]);
    const child = await token(parent.token, { agent: "lim-b", maxCalls: 2 }); // parent call 2
    const b = as(child.token);
    await sendOk(app.baseUrl, b, "GET", "/api/cubbies", undefined, 200); // parent 3, child 1
    await sendOk(app.baseUrl, b, "GET", "/api/cubbies", undefined, 200); // parent 4, child 2
    expect((await tokenView(parent.id)).calls).toBe(4);
    expect((await send(app.baseUrl, b, "GET", "/api/cubbies")).json.error.message).toMatch(/^stopped: limit reached \(2 calls\)/);

    // The child resumed is still held by its parent's limit, which the message names; so is the parent itself.
    expect((await resume(child.id, { maxCalls: 5 })).status).toBe(409); // its parent is stopped: resume that first
    expect((await resume(parent.id, { maxCalls: 3 })).status).toBe(200);
    const over = await resume(child.id, { maxCalls: 7 });
    expect(over.status).toBe(400);
    expect(over.json.error.details).toEqual([{ path: "maxCalls", message: "at most 3: what the token it is delegated from has left" }]);
    expect((await resume(child.id, {})).status).toBe(200); // its own 2 fit in its parent's 3
    await sendOk(app.baseUrl, b, "GET", "/api/cubbies", undefined, 200); // parent 1, child 1
    await sendOk(app.baseUrl, as(parent.token), "GET", "/api/cubbies", undefined, 200); // parent 2
    await sendOk(app.baseUrl, as(parent.token), "GET", "/api/cubbies", undefined, 200); // parent 3
    const held = await send(app.baseUrl, b, "GET", "/api/cubbies");
    expect(held.status).toBe(429);
    expect(held.json.error.details.limit).toBe("3 calls of the token it was delegated from (agent:lim-a)");
    expect((await tokenView(child.id)).calls).toBe(1);
    const parentHeld = await send(app.baseUrl, as(parent.token), "GET", "/api/cubbies");
    expect(parentHeld.json.error.message).toMatch(/^stopped: limit reached \(3 calls\); /);
  });

  it("stop a token after its limit of refused or failed calls, and at its expiry; each resumed", async () => {
    const t = await token(credentials["lim-b"]!, { maxFailures: 2, ttlSeconds: 600 });
    const b = as(t.token);
    expect((await send(app.baseUrl, b, "GET", "/api/cubbies/limits/items/state")).status).toBe(403); // not granted
    expect((await send(app.baseUrl, b, "GET", "/api/agents")).status).toBe(403); // an admin route
    const stopped = await send(app.baseUrl, b, "GET", "/api/cubbies");
    expect(stopped.status).toBe(429);
    expect(stopped.json.error.message).toMatch(/^stopped: limit reached \(2 refused or failed calls\)/);
    expect(await tokenView(t.id)).toMatchObject({ status: "stopped", failures: 2 });
    expect((await resume(t.id, {})).json).toMatchObject({ status: "active", failures: 0 });
    await sendOk(app.baseUrl, b, "GET", "/api/cubbies", undefined, 200);

    const short = await token(credentials["lim-b"]!, { ttlSeconds: 1 });
    await new Promise((r) => setTimeout(r, 1_300));
    const expired = await send(app.baseUrl, as(short.token), "GET", "/api/cubbies");
    expect(expired.status).toBe(429);
    expect(expired.json.error.message).toMatch(/^stopped: limit reached \(runtime: expired at \d{4}-/);
    const longer = await resume(short.id, { ttlSeconds: 120 });
    expect(longer.json).toMatchObject({ status: "active" });
    await sendOk(app.baseUrl, as(short.token), "GET", "/api/cubbies", undefined, 200);
    // A revoked token stays revoked.
    await sendOk(app.baseUrl, admin, "DELETE", `/api/agents/tokens/${short.id}`, undefined, 200);
    expect((await resume(short.id, { ttlSeconds: 60 })).status).toBe(409);
    expect((await send(app.baseUrl, as(short.token), "GET", "/api/cubbies")).status).toBe(401);
  });

  it("shows a stopped token's counts on /admin/agents, and resumes it from there", async () => {
    const t = await token(credentials["lim-a"]!, { maxCalls: 1, ttlSeconds: 600 });
    await sendOk(app.baseUrl, as(t.token), "GET", "/api/cubbies", undefined, 200);
    expect((await send(app.baseUrl, as(t.token), "GET", "/api/cubbies")).status).toBe(429);
    browser = await launchBrowser();
    const page = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
    await signIn(page, app.baseUrl, adminUser);
    await page.goto(`${app.baseUrl}/admin/agents`);
    const row = page.locator(`[data-token-id="${t.id}"]`);
    await expect.poll(() => row.getAttribute("data-status")).toBe("stopped");
    expect(await row.innerText()).toContain("1 of 1");
    await row.getByRole("button", { name: "Resume" }).click();
    await expect.poll(() => row.getAttribute("data-status"), { timeout: 15_000 }).toBe("active");
    expect(await row.innerText()).toContain("0 of 1");
    await sendOk(app.baseUrl, as(t.token), "GET", "/api/cubbies", undefined, 200);
  });
});
