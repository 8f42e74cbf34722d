// Administration through the real route handlers (app/api/admin/**) on real PostgreSQL: users, keys,
// collection access lists, the audit log — and the wrapper's hardening (CSRF, rate limits).
import { randomBytes } from "node:crypto";
import { encode } from "next-auth/jwt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as usersRoute from "@/app/api/admin/users/route";
import * as userRoute from "@/app/api/admin/users/[id]/route";
import * as keysRoute from "@/app/api/admin/keys/route";
import * as keyRoute from "@/app/api/admin/keys/[id]/route";
import * as auditRoute from "@/app/api/admin/audit/route";
import * as collectionsRoute from "@/app/api/admin/collections/route";
import * as collectionRoute from "@/app/api/admin/collections/[id]/route";
import * as membersRoute from "@/app/api/admin/collections/[id]/members/route";
import { accessContextFor } from "@/lib/access/context";
import { principalFromApiKey } from "@/lib/auth/api-keys";
import { authenticate } from "@/lib/auth/users";
import { userForOidcProfile } from "@/lib/auth/oidc";
import { resetConfig } from "@/lib/config";
import { closeDb, setDb } from "@/lib/db/client";
import { createTestDb, type TestDb } from "@/tests/helpers/db";
import { makeApiKey, makeUser, type TestUser } from "@/tests/helpers/auth";
import { makeCollection } from "@/tests/helpers/factories";

const BASE = "http://sot.test";
type Handler = (req: Request, ctx?: { params?: Promise<Record<string, string>> }) => Promise<Response>;

async function call(handler: Handler, method: string, path: string, opts: { headers?: Record<string, string>; body?: unknown; params?: Record<string, string> } = {}) {
  const res = await handler(
    new Request(BASE + path, {
      method,
      headers: { ...(opts.body !== undefined ? { "content-type": "application/json" } : {}), host: "sot.test", ...opts.headers },
      body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
    }),
    { params: Promise.resolve(opts.params ?? {}) },
  );
  const text = await res.text();
  return { status: res.status, headers: res.headers, json: text ? JSON.parse(text) : null };
}

async function sessionCookie(user: TestUser, ageSeconds = 3600): Promise<string> {
  const token = await encode({ token: { sub: user.id, email: user.email, sv: 0 }, secret: process.env.AUTH_SECRET!, maxAge: ageSeconds });
  return `next-auth.session-token=${token}`;
}

describe("administration API", () => {
  let db: TestDb;
  let admin: TestUser;
  let adminHeaders: Record<string, string>;
  beforeAll(async () => {
    process.env.AUTH_SECRET = randomBytes(32).toString("hex");
    process.env.RATE_LIMIT_BURST = "1000";
    process.env.LOG_LEVEL = "warn";
    resetConfig();
    db = await createTestDb();
    setDb(db);
    admin = await makeUser(db, "admin");
    adminHeaders = { cookie: await sessionCookie(admin) };
  });
  afterAll(async () => {
    await db?.drop();
    await closeDb().catch(() => {});
  });

  it("creates users, changes roles, disables — each change audited; a disabled user cannot sign in", async () => {
    const created = await call(usersRoute.POST, "POST", "/api/admin/users", { headers: adminHeaders, body: { email: "Ana@Example.test", password: "long-enough-pw", role: "viewer" } });
    expect(created.status).toBe(201);
    expect(created.json).toMatchObject({ email: "ana@example.test", role: "viewer", disabled: false, hasPassword: true });
    expect(created.json).not.toHaveProperty("passwordHash");
    const id = created.json.id;

    const dup = await call(usersRoute.POST, "POST", "/api/admin/users", { headers: adminHeaders, body: { email: "ana@example.test", password: "long-enough-pw", role: "viewer" } });
    expect(dup.status).toBe(409);
    const bad = await call(usersRoute.POST, "POST", "/api/admin/users", { headers: adminHeaders, body: { email: "nope", password: "short", role: "boss" } });
    expect(bad.status).toBe(400);
    expect(bad.json.error.details.map((d: { path: string }) => d.path)).toContain("role");

    expect((await call(userRoute.PATCH, "PATCH", `/api/admin/users/${id}`, { headers: adminHeaders, params: { id }, body: { role: "evaluator" } })).json.role).toBe("evaluator");
    expect(await authenticate(db, "ana@example.test", "long-enough-pw")).not.toBeNull();
    const disabled = await call(userRoute.PATCH, "PATCH", `/api/admin/users/${id}`, { headers: adminHeaders, params: { id }, body: { disabled: true } });
    expect(disabled.json.disabled).toBe(true);
    expect(await authenticate(db, "ana@example.test", "long-enough-pw")).toBeNull();

    const log = await call(auditRoute.GET, "GET", "/api/admin/audit?action=user.", { headers: adminHeaders });
    expect(log.status).toBe(200);
    const actions = log.json.entries.filter((e: { target: string }) => e.target === `user:${id}`).map((e: { action: string }) => e.action);
    expect(actions).toEqual(["user.disable", "user.role", "user.create"]);
    expect(log.json.entries[0]).toMatchObject({ actor: admin.email, actorUserId: admin.id });
    expect(JSON.stringify(log.json)).not.toContain("long-enough-pw");
  });

  it("refuses to remove the last active administrator or to disable oneself", async () => {
    const self = await call(userRoute.PATCH, "PATCH", `/api/admin/users/${admin.id}`, { headers: adminHeaders, params: { id: admin.id }, body: { role: "viewer" } });
    expect(self.status).toBe(409);
    expect(self.json.error.message).toMatch(/last active administrator/);
    const other = await makeUser(db, "admin");
    const disableSelf = await call(userRoute.PATCH, "PATCH", `/api/admin/users/${admin.id}`, { headers: adminHeaders, params: { id: admin.id }, body: { disabled: true } });
    expect(disableSelf.status).toBe(409);
    await db.prisma.user.update({ where: { id: other.id }, data: { disabledAt: new Date() } });
  });

  it("creates a key shown once, stored hashed, with scopes, collection restriction and expiry; revocation takes effect", async () => {
    const col = await call(collectionsRoute.POST, "POST", "/api/admin/collections", { headers: adminHeaders, body: { slug: "hr", name: "HR", restricted: true } });
    expect(col.status).toBe(201);
    const created = await call(keysRoute.POST, "POST", "/api/admin/keys", {
      headers: adminHeaders,
      body: { name: "eval script", scopes: ["ask", "score"], collectionIds: [col.json.id], expiresInDays: 30 },
    });
    expect(created.status).toBe(201);
    const key: string = created.json.key;
    expect(key).toMatch(/^sot_[a-z0-9]{8}_/);
    const stored = await db.prisma.apiKey.findUniqueOrThrow({ where: { id: created.json.id } });
    expect(JSON.stringify(stored)).not.toContain(key.slice(13));
    expect(stored.expiresAt!.getTime()).toBeGreaterThan(Date.now() + 29 * 86_400_000);

    const list = await call(keysRoute.GET, "GET", "/api/admin/keys", { headers: adminHeaders });
    const listed = list.json.keys.find((k: { id: string }) => k.id === created.json.id);
    expect(listed).toMatchObject({ name: "eval script", scopes: ["ask", "score"], status: "active", lastUsedAt: null });
    expect(JSON.stringify(list.json)).not.toContain(key);

    const principal = await principalFromApiKey(db, key);
    expect((await accessContextFor(db, principal!)).readableIds).toEqual([col.json.id]);
    expect((await db.prisma.apiKey.findUniqueOrThrow({ where: { id: created.json.id } })).lastUsedAt).not.toBeNull();

    const revoked = await call(keyRoute.DELETE, "DELETE", `/api/admin/keys/${created.json.id}`, { headers: adminHeaders, params: { id: created.json.id } });
    expect(revoked.json.status).toBe("revoked");
    expect(await principalFromApiKey(db, key)).toBeNull();
    const audit = await call(auditRoute.GET, "GET", `/api/admin/audit?target=key:${created.json.id}`, { headers: adminHeaders });
    expect(audit.json.entries.map((e: { action: string }) => e.action)).toEqual(["key.revoke", "key.create"]);

    const unknownCol = await call(keysRoute.POST, "POST", "/api/admin/keys", { headers: adminHeaders, body: { name: "x", scopes: ["ask"], collectionIds: [crypto.randomUUID()] } });
    expect(unknownCol.status).toBe(400);
    const badScope = await call(keysRoute.POST, "POST", "/api/admin/keys", { headers: adminHeaders, body: { name: "x", scopes: ["root"] } });
    expect(badScope.status).toBe(400);
    const past = await call(keysRoute.POST, "POST", "/api/admin/keys", { headers: adminHeaders, body: { name: "x", scopes: ["ask"], expiresAt: "2001-01-01T00:00:00Z" } });
    expect(past.status).toBe(400);
  });

  it("an admin-scoped key cannot be limited to collections (it could create an admin user)", async () => {
    const b = await makeCollection(db, { slug: `b-${Date.now()}`, name: "B" });
    const res = await call(keysRoute.POST, "POST", "/api/admin/keys", { headers: adminHeaders, body: { name: "limited admin", scopes: ["admin", "ask"], collectionIds: [b.id] } });
    expect(res.status).toBe(400);
    expect(res.json.error.details).toEqual([expect.objectContaining({ path: "collectionIds" })]);
    await expect(makeApiKey(db, ["admin"], { creator: admin, collectionIds: [b.id] })).rejects.toMatchObject({ status: 400 });
  });

  it("access lists: a restricted collection is readable by its members only; changes are audited", async () => {
    const viewer = await makeUser(db, "viewer");
    const col = (await call(collectionsRoute.POST, "POST", "/api/admin/collections", { headers: adminHeaders, body: { slug: "finance", name: "Finance" } })).json;
    const vp = { kind: "user" as const, userId: viewer.id, apiKeyId: null, label: viewer.email, role: "viewer" as const, permissions: new Set(["ask" as const]), collectionLimit: null };
    expect((await accessContextFor(db, vp)).readableIds).toContain(col.id);
    await call(collectionRoute.PATCH, "PATCH", `/api/admin/collections/${col.id}`, { headers: adminHeaders, params: { id: col.id }, body: { restricted: true } });
    expect((await accessContextFor(db, vp)).readableIds).not.toContain(col.id);
    const set = await call(membersRoute.PUT, "PUT", `/api/admin/collections/${col.id}/members`, { headers: adminHeaders, params: { id: col.id }, body: { userIds: [viewer.id] } });
    expect(set.json.members).toEqual([{ userId: viewer.id, email: viewer.email }]);
    expect((await accessContextFor(db, vp)).readableIds).toContain(col.id);
    const unknown = await call(membersRoute.PUT, "PUT", `/api/admin/collections/${col.id}/members`, { headers: adminHeaders, params: { id: col.id }, body: { userIds: [crypto.randomUUID()] } });
    expect(unknown.status).toBe(400);
    const log = await call(auditRoute.GET, "GET", `/api/admin/audit?target=collection:${col.id}`, { headers: adminHeaders });
    expect(log.json.entries.map((e: { action: string }) => e.action)).toEqual(["collection.members", "collection.access", "collection.create"]);
    expect(log.json.entries[0].details.added).toEqual([viewer.id]);
  });

  it("refuses cookie-authenticated mutations from another site, but not bearer keys", async () => {
    const evil = await call(usersRoute.POST, "POST", "/api/admin/users", {
      headers: { ...adminHeaders, origin: "https://evil.example", "sec-fetch-site": "cross-site" },
      body: { email: "mallory@example.test", password: "long-enough-pw", role: "admin" },
    });
    expect(evil.status).toBe(403);
    expect(await db.prisma.user.findUnique({ where: { email: "mallory@example.test" } })).toBeNull();
    const same = await call(usersRoute.POST, "POST", "/api/admin/users", {
      headers: { ...adminHeaders, origin: BASE, "sec-fetch-site": "same-origin" },
      body: { email: "bob@example.test", password: "long-enough-pw", role: "viewer" },
    });
    expect(same.status).toBe(201);
    const key = await makeApiKey(db, ["admin"], { creator: admin });
    const viaKey = await call(usersRoute.GET, "GET", "/api/admin/users", { headers: { ...key.headers, origin: "https://evil.example" } });
    expect(viaKey.status).toBe(200);
  });

  it("an expired session cookie is refused", async () => {
    const expired = { cookie: await sessionCookie(admin, -10) };
    expect((await call(usersRoute.GET, "GET", "/api/admin/users", { headers: expired })).status).toBe(401);
  });

  it("rate-limits per key with 429 and Retry-After, without touching other keys", async () => {
    process.env.RATE_LIMIT_BURST = "3";
    process.env.RATE_LIMIT_PER_MINUTE = "6";
    resetConfig();
    try {
      const k1 = await makeApiKey(db, ["admin"], { creator: admin });
      const k2 = await makeApiKey(db, ["admin"], { creator: admin });
      const statuses = [];
      for (let i = 0; i < 4; i++) statuses.push((await call(usersRoute.GET, "GET", "/api/admin/users", { headers: k1.headers })).status);
      expect(statuses).toEqual([200, 200, 200, 429]);
      const limited = await call(usersRoute.GET, "GET", "/api/admin/users", { headers: k1.headers });
      expect(limited.headers.get("retry-after")).toBe("10");
      expect(limited.json.error.code).toBe("rate_limited");
      expect((await call(usersRoute.GET, "GET", "/api/admin/users", { headers: k2.headers })).status).toBe(200);
    } finally {
      process.env.RATE_LIMIT_BURST = "1000";
      delete process.env.RATE_LIMIT_PER_MINUTE;
      resetConfig();
    }
  });

  it("OpenID Connect: matches users by e-mail, creates new ones with the default role, keeps disabled users out", async () => {
    const existing = await makeUser(db, "evaluator");
    const same = await userForOidcProfile(db, { sub: "x1", email: existing.email.toUpperCase(), email_verified: true }, "viewer");
    expect(same).toEqual({ ok: true, userId: existing.id, created: false });
    const fresh = await userForOidcProfile(db, { sub: "x2", email: "new.person@example.test", name: "New Person" }, "viewer");
    expect(fresh.ok && fresh.created).toBe(true);
    const row = await db.prisma.user.findUniqueOrThrow({ where: { email: "new.person@example.test" } });
    expect(row).toMatchObject({ role: "viewer", passwordHash: null, name: "New Person" });
    expect(await userForOidcProfile(db, { sub: "x3", email: "u@example.test", email_verified: false }, "viewer")).toEqual({ ok: false, reason: "unverified_email" });
    expect(await userForOidcProfile(db, { sub: "x4" }, "viewer")).toEqual({ ok: false, reason: "no_email" });
    await db.prisma.user.update({ where: { id: existing.id }, data: { disabledAt: new Date() } });
    expect(await userForOidcProfile(db, { sub: "x1", email: existing.email }, "viewer")).toEqual({ ok: false, reason: "disabled" });
  });
});
