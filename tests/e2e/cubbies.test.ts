// Cubbies and agents end to end: the built app as a real server whose environment holds NO master key,
// KES as its own process (workers/kes.ts) holding it, every call over HTTP through the typed client
// (lib/cubbies/client.ts) or plain fetch. Access is refused as well as granted; revocation holds for the
// very next call; ciphertexts moved between rows and cubbies do not open; rotation, retirement and
// shredding; KES going down answers 503 and writes nothing.
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createSotClient, ApiError, type SotClient } from "@/lib/cubbies/client";
import { KesClient, httpTransport } from "@/lib/kes/client";
import { startApp, type RunningApp } from "@/tests/helpers/app";
import { makeApiKey, makeUser } from "@/tests/helpers/auth";
import { createTestDb, type TestDb } from "@/tests/helpers/db";
import { send, sendOk, userCaller, type Caller } from "@/tests/helpers/http";
import { startKesProcess, type KesProcess } from "@/tests/helpers/kes-process";
import { until } from "@/tests/helpers/until";

let db: TestDb;
let kes: KesProcess;
let app: RunningApp;
let admin: Caller;
const credentials: Record<string, string> = {};
const SECRET = `pageCount-canary-${Date.now()}`;

/** The error a call threw (it must throw). */
async function refusal(p: Promise<unknown>): Promise<ApiError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof ApiError) return err;
    throw err;
  }
  throw new Error("expected the call to be refused");
}

const client = (agent: string) => createSotClient({ baseUrl: app.baseUrl, credential: credentials[agent]! });
const withToken = (token: string) => createSotClient({ baseUrl: app.baseUrl, token });

beforeAll(async () => {
  db = await createTestDb();
  kes = await startKesProcess({ databaseUrl: db.url, services: ["sot-web"] });
  app = await startApp({
    db,
    env: {
      KES_URL: kes.url,
      KES_TOKEN: kes.tokens["sot-web"]!,
      RATE_LIMIT_BURST: "100000",
      RATE_LIMIT_PER_MINUTE: "100000",
    },
  });
  admin = await userCaller(app.baseUrl, "admin", await makeUser(db, "admin"));
  for (const name of ["agent-a", "agent-b", "agent-c", "agent-d"]) {
    const res = await sendOk(app.baseUrl, admin, "POST", "/api/agents", { name, description: `test agent ${name}` }, 201);
    expect(res.json.credential).toMatch(/^sot_agent_/);
    credentials[name] = res.json.credential;
  }
}, 400_000);

afterAll(async () => {
  await app?.stop();
  await kes?.stop();
  await db?.drop();
});

describe("cubbies over HTTP, KES as its own process", () => {
  let a: SotClient;
  let b: SotClient;

  it("runs the web process with no master key in its environment", () => {
    const environ = readFileSync(`/proc/${app.process.pid}/environ`, "utf8").split("\0");
    expect(environ.some((e) => e.startsWith("MASTER_KEYS=") || e.startsWith("MASTER_KEY_FILE="))).toBe(false);
    expect(environ.some((e) => e.startsWith("KES_URL="))).toBe(true);
  });

  it("A stores, B is refused, A grants read, B reads but cannot write; the database holds only ciphertext", async () => {
    a = client("agent-a");
    b = client("agent-b");
    const cubby = await a.createCubby({ name: "wiki-agent-state", allowedAgents: ["agent-d"] });
    const written = await cubby.set("lastSync", { timestamp: 1764800000000, pageCount: 42, note: SECRET });
    expect(written).toMatchObject({ key: "lastSync", version: 1, keyVersion: 1 });
    expect(await cubby.get("lastSync")).toEqual({ timestamp: 1764800000000, pageCount: 42, note: SECRET });
    const rows = await db.prisma.cubbyItem.findMany();
    expect(rows).toHaveLength(1);
    expect(rows[0]!.ciphertext).toMatch(/^kes:v1:cubby\.wiki-agent-state:1:/);
    expect(JSON.stringify(rows)).not.toContain(SECRET);
    expect(JSON.stringify(rows)).not.toContain("pageCount");

    // an allowed agent reads and writes
    expect(await client("agent-d").cubby("wiki-agent-state").get("lastSync")).toMatchObject({ pageCount: 42 });

    const bCubby = b.cubby("wiki-agent-state");
    expect(await refusal(bCubby.get("lastSync"))).toMatchObject({ status: 403 });
    expect(await refusal(bCubby.set("lastSync", { evil: true }))).toMatchObject({ status: 403 });
    expect(await refusal(bCubby.grantAccess("agent-b", { operations: ["read", "write"] }))).toMatchObject({ status: 403 });

    await cubby.grantAccess("agent-b", { operations: ["read"] });
    expect(await bCubby.get("lastSync")).toMatchObject({ pageCount: 42 });
    expect(await refusal(bCubby.set("lastSync", { evil: true }))).toMatchObject({ status: 403 });
    expect(await cubby.get("lastSync")).toMatchObject({ pageCount: 42 }); // unchanged
    // B holds read only: it cannot grant, nor see the grant list
    expect(await refusal(bCubby.grantAccess("agent-c", { operations: ["read"] }))).toMatchObject({ status: 403 });
    const grants = await cubby.listGrants();
    expect(grants.filter((g) => g.active).map((g) => [g.agent, g.operations])).toEqual(
      expect.arrayContaining([["agent-a", ["read", "write", "grant"]], ["agent-d", ["read", "write"]], ["agent-b", ["read"]]]),
    );
    expect((await b.listCubbies()).map((c) => c.name)).toEqual(["wiki-agent-state"]);
    expect(await client("agent-c").listCubbies()).toEqual([]);
  });

  it("the item routes, served without Next.js's pipeline, answer like every route; other methods and paths still go through Next.js", async () => {
    const { token } = await a.delegate({});
    const url = `${app.baseUrl}/api/cubbies/wiki-agent-state/items/lastSync`;
    const res = await fetch(url, { headers: { authorization: `Bearer ${token}`, "x-request-id": "direct-route-check" } });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^application\/json/);
    expect(res.headers.get("x-request-id")).toBe("direct-route-check");
    expect(res.headers.get("cache-control")).toBe("no-store");
    expect(res.headers.get("content-security-policy")).toContain("frame-ancestors 'none'");
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
    expect(res.headers.get("x-frame-options")).toBe("DENY");
    expect(await res.json()).toMatchObject({ key: "lastSync", version: 1, value: { pageCount: 42 } });

    const anonymous = await fetch(url);
    expect(anonymous.status).toBe(401);
    expect((await anonymous.json()).error).toMatchObject({ code: "unauthorized" });
    expect(anonymous.headers.get("content-security-policy")).toBeTruthy();

    const put = await fetch(`${app.baseUrl}/api/cubbies/wiki-agent-state/items/direct%3Acheck`, {
      method: "PUT",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify({ value: { via: "direct" }, ifVersion: 0 }),
    });
    expect(put.status).toBe(200);
    expect(await a.cubby("wiki-agent-state").get("direct:check")).toEqual({ via: "direct" });
    const del = await fetch(`${app.baseUrl}/api/cubbies/wiki-agent-state/items/direct%3Acheck`, { method: "DELETE", headers: { authorization: `Bearer ${token}` } });
    expect(await del.json()).toEqual({ deleted: true });

    // a method the route file does not export, and a trailing slash: Next.js answers, as before
    const post = await fetch(url, { method: "POST", headers: { authorization: `Bearer ${token}` } });
    expect(post.status).toBe(405);
    expect((await post.json()).error).toMatchObject({ code: "method_not_allowed" });
    const slash = await fetch(`${url}/`, { headers: { authorization: `Bearer ${token}` }, redirect: "manual" });
    expect(slash.status).toBe(308);
  });

  it("revocation and expiry hold for the very next call", async () => {
    const cubby = a.cubby("wiki-agent-state");
    const bCubby = b.cubby("wiki-agent-state");
    expect(await cubby.revokeAccess("agent-b")).toEqual({ revoked: 1 });
    expect(await refusal(bCubby.get("lastSync"))).toMatchObject({ status: 403 });

    const expiresAt = Date.now() + 1500;
    await cubby.grantAccess("agent-b", { operations: ["read"], expiresAt });
    expect(await bCubby.get("lastSync")).toMatchObject({ pageCount: 42 });
    await new Promise((r) => setTimeout(r, Math.max(0, expiresAt - Date.now()) + 200));
    expect(await refusal(bCubby.get("lastSync"))).toMatchObject({ status: 403 });
    // a grant cannot outlive its granter's: A's own grant has no end, so any expiry is fine for A;
    // D holds read+write without grant: it cannot grant at all
    expect(await refusal(client("agent-d").cubby("wiki-agent-state").grantAccess("agent-c", { operations: ["read"] }))).toMatchObject({ status: 403 });
  });

  it("revoke, then the very next get is refused, however warm the path (no grant, token or key is served from memory)", async () => {
    const cubby = a.cubby("wiki-agent-state");
    const bCubby = b.cubby("wiki-agent-state");
    for (const by of ["agent", "admin"] as const) {
      await cubby.grantAccess("agent-b", { operations: ["read"] });
      // warm every process on the path with B's reads (in turn and at once), as a cache would be warm
      for (let i = 0; i < 10; i++) expect(await bCubby.get("lastSync")).toMatchObject({ pageCount: 42 });
      await Promise.all(Array.from({ length: 10 }, async () => expect(await bCubby.get("lastSync")).toMatchObject({ pageCount: 42 })));
      if (by === "agent") expect((await cubby.revokeAccess("agent-b")).revoked).toBeGreaterThanOrEqual(1); // (and the expired one before)
      else await sendOk(app.baseUrl, admin, "DELETE", "/api/admin/cubbies/wiki-agent-state/grants/agent-b", undefined, 200);
      expect(await refusal(bCubby.get("lastSync")), by).toMatchObject({ status: 403 });
    }
  });

  it("a delegated token is narrowed to one cubby and some operations, never outlives or widens its parent, and dies with it", async () => {
    await a.createCubby({ name: "other-cubby" });
    await a.cubby("other-cubby").set("x", 1);
    const delegated = await a.delegate({ agent: "agent-c", cubby: "wiki-agent-state", operations: ["read"], ttlSeconds: 120 });
    expect(delegated).toMatchObject({ agent: "agent-c", delegatedBy: "agent-a", cubby: "wiki-agent-state", operations: ["read"] });
    const c = withToken(delegated.token);
    expect(await c.cubby("wiki-agent-state").get("lastSync")).toMatchObject({ pageCount: 42 });
    expect(await refusal(c.cubby("wiki-agent-state").set("lastSync", 0))).toMatchObject({ status: 403 });
    expect(await refusal(c.cubby("other-cubby").get("x"))).toMatchObject({ status: 403 });
    expect(await refusal(c.createCubby({ name: "c-own" }))).toMatchObject({ status: 403 });
    expect((await c.listCubbies()).map((x) => x.name)).toEqual(["wiki-agent-state"]);
    // widening: more operations, another cubby
    expect(await refusal(c.delegate({ agent: "agent-b", operations: ["read", "write"] }))).toMatchObject({ status: 403 });
    expect(await refusal(c.delegate({ agent: "agent-b", cubby: "other-cubby" }))).toMatchObject({ status: 403 });
    // outliving
    const later = new Date(Date.parse(delegated.expiresAt) + 60_000).toISOString();
    const outlive = await refusal(c.delegate({ agent: "agent-b", expiresAt: later }));
    expect(outlive.status).toBe(400);
    expect(outlive.details.map((d) => d.path)).toContain("expiresAt");
    // a narrower one is fine, and expires with its parent at the latest
    const grandchild = await c.delegate({ agent: "agent-b" });
    expect(Date.parse(grandchild.expiresAt)).toBeLessThanOrEqual(Date.parse(delegated.expiresAt));
    expect(grandchild).toMatchObject({ cubby: "wiki-agent-state", operations: ["read"] });
    expect(await withToken(grandchild.token).cubby("wiki-agent-state").get("lastSync")).toMatchObject({ pageCount: 42 });

    // revoking the parent (an admin revokes C's token) kills the grandchild on its next call
    await sendOk(app.baseUrl, admin, "DELETE", `/api/agents/tokens/${delegated.id}`, undefined, 200);
    expect(await refusal(withToken(grandchild.token).cubby("wiki-agent-state").get("lastSync"))).toMatchObject({ status: 401 });
    expect(await refusal(c.cubby("wiki-agent-state").get("lastSync"))).toMatchObject({ status: 401 });

    // a credential cannot buy tokens for another agent
    const r = await send(app.baseUrl, { name: "agent-a credential", headers: { authorization: `Bearer ${credentials["agent-a"]}` } }, "POST", "/api/agents/tokens", { agent: "agent-b" });
    expect(r.status).toBe(403);
    // and is no token: cubby calls need one
    const r2 = await send(app.baseUrl, { name: "agent-a credential", headers: { authorization: `Bearer ${credentials["agent-a"]}` } }, "GET", "/api/cubbies");
    expect(r2.status).toBe(403);
  });

  it("a ciphertext copied into another row or cubby does not decrypt", async () => {
    const cubby = a.cubby("wiki-agent-state");
    await cubby.set("second", { n: 2 });
    const [src, dst] = await Promise.all(["lastSync", "second"].map((key) => db.prisma.cubbyItem.findFirstOrThrow({ where: { key, cubby: { name: "wiki-agent-state" } } })));
    await db.prisma.cubbyItem.update({ where: { cubbyId_key: { cubbyId: dst.cubbyId, key: "second" } }, data: { ciphertext: src.ciphertext } });
    expect(await refusal(cubby.get("second"))).toMatchObject({ status: 422, code: "decrypt_failed" });
    const other = await db.prisma.cubbyItem.findFirstOrThrow({ where: { key: "x", cubby: { name: "other-cubby" } } });
    await db.prisma.cubbyItem.update({ where: { cubbyId_key: { cubbyId: other.cubbyId, key: "x" } }, data: { ciphertext: src.ciphertext, version: src.version } });
    expect(await refusal(a.cubby("other-cubby").get("x"))).toMatchObject({ status: 422 });
    // the value stays readable where it belongs
    expect(await cubby.get("lastSync")).toMatchObject({ pageCount: 42 });
    await cubby.set("second", { n: 2 }); // repair
  });

  it("rotation: old values stay readable, new writes use the new version; after rewrap and retirement the old version is refused", async () => {
    const cubby = a.cubby("wiki-agent-state");
    const old = await db.prisma.cubbyItem.findFirstOrThrow({ where: { key: "lastSync", cubby: { name: "wiki-agent-state" } } });
    const rotated = await sendOk(app.baseUrl, admin, "POST", "/api/admin/cubbies/wiki-agent-state", { action: "rotate" }, 200);
    expect(rotated.json).toMatchObject({ currentVersion: 2, minDecryptionVersion: 1 });
    expect(await cubby.entry("lastSync")).toMatchObject({ keyVersion: 1, value: { pageCount: 42 } });
    expect(await cubby.set("fresh", { v: "new" })).toMatchObject({ keyVersion: 2 });
    // retiring before the rewrap would strand values: refused, saying why
    const early = await send(app.baseUrl, admin, "POST", "/api/admin/cubbies/wiki-agent-state", { action: "retire" });
    expect(early.status).toBe(409);
    expect(early.json.error.message).toMatch(/rewrap first/);
    // Rewrap is a background job (202): the admin list follows it until it ends.
    const rewrap = await sendOk(app.baseUrl, admin, "POST", "/api/admin/cubbies/wiki-agent-state", { action: "rewrap" }, 202);
    // (a worker may have picked the job up before the answer was written)
    expect(rewrap.json.rewrap).toMatchObject({ cubby: "wiki-agent-state", status: expect.stringMatching(/^(queued|running)$/) });
    const finished = await until("the rewrap job to end", async () => {
      const list = await sendOk(app.baseUrl, admin, "GET", "/api/admin/cubbies", undefined, 200);
      const r = list.json.cubbies.find((c: { name: string }) => c.name === "wiki-agent-state").rewrap;
      return r && (r.status === "succeeded" || r.status === "failed") ? r : null;
    });
    expect(finished).toMatchObject({ id: rewrap.json.rewrap.id, status: "succeeded", toVersion: 2 });
    expect(finished.rewrapped).toBeGreaterThanOrEqual(2);
    await sendOk(app.baseUrl, admin, "POST", "/api/admin/cubbies/wiki-agent-state", { action: "retire" }, 200);
    expect(await cubby.entry("lastSync")).toMatchObject({ keyVersion: 2, version: old.version, value: { pageCount: 42, note: SECRET } });
    // a copy of the old ciphertext (a stale replica, an old backup) no longer opens
    await db.prisma.cubbyItem.update({ where: { cubbyId_key: { cubbyId: old.cubbyId, key: "lastSync" } }, data: { ciphertext: old.ciphertext } });
    expect(await refusal(cubby.get("lastSync"))).toMatchObject({ status: 409, code: "version_retired" });
    await cubby.set("lastSync", { pageCount: 43 }, { ifVersion: old.version });
  });

  it("answers bad input clearly: unknown agent, malformed token, oversized value, wrong ifVersion", async () => {
    const cubby = a.cubby("wiki-agent-state");
    const unknown = await refusal(cubby.grantAccess("agent-nobody", { operations: ["read"] }));
    expect(unknown.status).toBe(404);
    expect(unknown.message).toMatch(/agent-nobody.*unknown agent/);
    expect(await refusal(a.createCubby({ name: "typo", allowedAgents: ["agent-nobody"] }))).toMatchObject({ status: 404 });
    expect(await db.prisma.cubby.count({ where: { name: "typo" } })).toBe(0);

    const malformed = await send(app.baseUrl, { name: "bad", headers: { authorization: "Bearer sot_at_not-a-token" } }, "GET", "/api/cubbies");
    expect(malformed.status).toBe(401);
    expect(malformed.json.error.message).toBeTruthy();

    const big = "x".repeat(256 * 1024 + 10);
    const tooBig = await refusal(cubby.set("big", big));
    expect(tooBig.status).toBe(413);
    expect(tooBig.message).toMatch(/big/);

    const current = await cubby.entry("lastSync");
    const stale = await refusal(cubby.set("lastSync", { pageCount: 0 }, { ifVersion: current!.version - 1 }));
    expect(stale.status).toBe(409);
    expect(stale.message).toMatch(`version ${current!.version}`);
    expect(await cubby.get("lastSync")).toMatchObject({ pageCount: 43 });
    expect(await refusal(cubby.set("brand-new", 1, { ifVersion: 3 }))).toMatchObject({ status: 409 });
    expect(await cubby.set("brand-new", 1, { ifVersion: 0 })).toMatchObject({ version: 1 });

    // a bad name says which field and why
    const badName = await refusal(a.createCubby({ name: "Bad Name" }));
    expect(badName.status).toBe(400);
    expect(badName.details[0]?.path).toBe("name");

    // people and API keys are not agents
    expect((await send(app.baseUrl, admin, "GET", "/api/cubbies")).status).toBe(403);
    const key = await makeApiKey(db, ["ask", "score", "import", "admin"]);
    expect((await send(app.baseUrl, { name: "key", headers: key.headers }, "GET", "/api/cubbies")).status).toBe(403);
    // and agents are not people: no wiki, no admin
    const tokenHeaders = { authorization: `Bearer ${(await a.delegate({})).token}` };
    expect((await send(app.baseUrl, { name: "agent", headers: tokenHeaders }, "GET", "/api/agents")).status).toBe(403);
    expect((await send(app.baseUrl, { name: "agent", headers: tokenHeaders }, "GET", "/api/admin/cubbies")).status).toBe(403);
  });

  it("/api/kes: encrypt for named readers; only a reader holding decrypt on the key gets the plaintext", async () => {
    const service = new KesClient(httpTransport(kes.url, kes.tokens["sot-web"]!, 30_000));
    // SOT made the key at start-up, with its own query and evaluation agents' grants on it.
    const grants = await service.listGrants("wiki-knowledge-key");
    expect(grants.filter((g) => g.active).map((g) => g.grantee).sort()).toEqual(["agent:sot-eval-agent", "agent:sot-query-agent"]);
    for (const agent of ["agent-a", "agent-b", "agent-c"]) {
      await service.grant("wiki-knowledge-key", `agent:${agent}`, { operations: agent === "agent-a" ? ["generate", "decrypt"] : ["decrypt"] });
    }
    const blob = await a.kes.encrypt("a chunk of the wiki", { keyId: "wiki-knowledge-key", allowedReaders: ["agent-a", "agent-b"] });
    expect(new TextDecoder().decode(await b.kes.decrypt(blob, { agentId: "agent-b" }))).toBe("a chunk of the wiki");
    expect(await refusal(client("agent-c").kes.decrypt(blob, { agentId: "agent-c" }))).toMatchObject({ status: 403 });
    expect(await refusal(b.kes.decrypt(blob, { agentId: "agent-a" }))).toMatchObject({ status: 403 });
    // B holds decrypt only
    expect(await refusal(b.kes.encrypt("x", { keyId: "wiki-knowledge-key" }))).toMatchObject({ status: 403 });
    // an edited reader list does not open
    const [head, rest] = [blob.slice(0, blob.indexOf(".", 8)), blob.slice(blob.indexOf(".", 8))];
    const ctx = JSON.parse(Buffer.from(head.slice("sotkes1.".length), "base64url").toString());
    const forged = `sotkes1.${Buffer.from(JSON.stringify({ ...ctx, readers: "agent-a,agent-b,agent-c" })).toString("base64url")}${rest}`;
    expect(await refusal(client("agent-c").kes.decrypt(forged))).toMatchObject({ status: 422 });
    const dk = await a.kes.generateDataKey("wiki-knowledge-key", { doc: "1" });
    expect(dk.plaintext).toHaveLength(32);
    expect(await refusal(b.kes.generateDataKey("wiki-knowledge-key"))).toMatchObject({ status: 403 });
  });

  it("every grant, revoke, generate and decrypt is audited, allowed or refused, never a value", async () => {
    const entries = await db.prisma.auditLog.findMany({ where: { OR: [{ action: { startsWith: "kes." } }, { action: { startsWith: "cubby." } }, { action: { startsWith: "agent." } }] } });
    const actions = new Set(entries.map((e) => e.action));
    for (const a of ["kes.generate", "kes.decrypt", "kes.grant", "kes.revoke", "cubby.create", "cubby.rotate", "cubby.rewrap", "agent.create", "agent.token.delegate"]) {
      expect(actions, a).toContain(a);
    }
    expect(entries.some((e) => e.actorLabel === "agent:agent-b" && (e.details as { allowed?: boolean }).allowed === false)).toBe(true);
    expect(entries.some((e) => /^agent:agent-c via agent:agent-a$/.test(e.actorLabel))).toBe(true);
    expect(JSON.stringify(entries)).not.toContain(SECRET);
    expect(JSON.stringify(entries)).not.toMatch(/sot_at_|sot_agent_/);
  });

  it("shred: the cubby's values can never be decrypted again", async () => {
    await a.cubby("other-cubby").set("kept", { note: SECRET });
    expect(await a.cubby("other-cubby").get("kept")).toEqual({ note: SECRET });
    // Shredding waits for another admin's approval; once approved it is carried out at once.
    const asked = await sendOk(app.baseUrl, admin, "POST", "/api/admin/cubbies/other-cubby", { action: "shred" }, 202);
    expect(asked.json).toMatchObject({ status: "waiting_for_approval", approval: { action: "cubby.key.shred", args: { cubby: "other-cubby" } } });
    expect(await a.cubby("other-cubby").get("kept")).toEqual({ note: SECRET });
    const second = await userCaller(app.baseUrl, "second admin", await makeUser(db, "admin"));
    await sendOk(app.baseUrl, second, "POST", `/api/approvals/${asked.json.approval.id}/decision`, { decision: "approve", comment: "agent retired" }, 200);
    await until(
      "the approved shred to be carried out",
      async () => (await sendOk(app.baseUrl, admin, "GET", `/api/approvals/${asked.json.approval.id}`, undefined, 200)).json.status === "executed",
      30_000,
    );
    const gone = await refusal(a.cubby("other-cubby").get("kept"));
    expect(gone).toMatchObject({ status: 410, code: "key_shredded" });
    expect(gone.message).toMatch(/shredded/);
    expect(await refusal(a.cubby("other-cubby").set("z", 3))).toMatchObject({ status: 410 });
    // the ciphertext is still in the database (and in any backup of it): nothing can open it
    expect(await db.prisma.cubbyItem.count({ where: { key: "kept" } })).toBe(1);
    const listed = await sendOk(app.baseUrl, admin, "GET", "/api/admin/cubbies", undefined, 200);
    const shredded = listed.json.cubbies.find((c: { name: string }) => c.name === "other-cubby");
    expect(shredded.key.status).toBe("shredded");
    expect(JSON.stringify(listed.json)).not.toContain(SECRET);
  });

  it("KES down: a clear 503 and nothing half-written", async () => {
    const cubby = a.cubby("wiki-agent-state");
    await cubby.get("lastSync"); // the token is bought while KES is up
    const before = await db.prisma.cubbyItem.findMany({ orderBy: { key: "asc" } });
    await kes.stop();
    const down = await refusal(cubby.set("lastSync", { pageCount: 99 }));
    expect(down).toMatchObject({ status: 503, code: "kes_unavailable" });
    expect(down.message).toMatch(/key service/);
    expect(await refusal(cubby.get("lastSync"))).toMatchObject({ status: 503 });
    expect(await refusal(a.createCubby({ name: "while-down" }))).toMatchObject({ status: 503 });
    expect(await db.prisma.cubbyItem.findMany({ orderBy: { key: "asc" } })).toEqual(before);
    expect(await db.prisma.cubby.count({ where: { name: "while-down" } })).toBe(0);
  });
});
