// The access context on a real database (lib/access/context.ts): keys never exceed their creator or
// parent key and fail closed when either is gone; sessions end everywhere on sign-out, password or role
// change; conversations belong to exactly one principal; a job's context is re-resolved and never wider
// than what it was started with.
import { randomBytes } from "node:crypto";
import { encode } from "next-auth/jwt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { accessContextFor, accessContextForActor, actorRef } from "@/lib/access/context";
import { adminRevokeKey, adminUpdateUser } from "@/lib/access/admin";
import { createConversation, getConversation, listConversations } from "@/lib/answer";
import { createApiKey, principalFromApiKey } from "@/lib/auth/api-keys";
import { authOptions, endSessions, principalFromCookies } from "@/lib/auth/session";
import { resetConfig } from "@/lib/config";
import { closeDb, setDb } from "@/lib/db/client";
import { createTestDb, type TestDb } from "@/tests/helpers/db";
import { makeUser, type TestUser } from "@/tests/helpers/auth";
import { addMembers, makeCollection } from "@/tests/helpers/factories";

let db: TestDb;
let admin: TestUser;

beforeAll(async () => {
  process.env.AUTH_SECRET = randomBytes(32).toString("hex");
  process.env.LOG_LEVEL = "warn";
  resetConfig();
  db = await createTestDb();
  setDb(db);
  admin = await makeUser(db, "admin");
});
afterAll(async () => {
  await db?.drop();
  await closeDb().catch(() => {});
});

async function cookieFor(user: TestUser): Promise<string> {
  const { sessionVersion } = await db.prisma.user.findUniqueOrThrow({ where: { id: user.id } });
  return `next-auth.session-token=${await encode({ token: { sub: user.id, sv: sessionVersion }, secret: process.env.AUTH_SECRET! })}`;
}

const adminCtx = async () => accessContextFor(db, (await principalFromCookies(db, await cookieFor(admin)))!);

describe("keys", () => {
  it("refuses an admin-scoped key limited to collections", async () => {
    const c = await makeCollection(db, { slug: "k-admin", name: "K" });
    await expect(createApiKey(db, { name: "x", scopes: ["admin"], collectionIds: [c.id], createdById: admin.id })).rejects.toMatchObject({
      status: 400,
      details: [expect.objectContaining({ path: "collectionIds" })],
    });
  });

  it("a collection-limited key made before that rule existed does not administer", async () => {
    const c = await makeCollection(db, { slug: "k-legacy", name: "K" });
    const { key, record } = await createApiKey(db, { name: "legacy", scopes: ["ask", "admin"], createdById: admin.id });
    await db.prisma.apiKey.update({ where: { id: record.id }, data: { collectionIds: [c.id] } }); // as an old row would be
    const p = (await principalFromApiKey(db, key))!;
    expect([...p.permissions]).toEqual(["ask"]);
    expect((await accessContextFor(db, p)).isAdmin).toBe(false);
  });

  it("a key whose creator is gone or disabled gets nothing", async () => {
    const creator = await makeUser(db, "evaluator");
    const { key } = await createApiKey(db, { name: "orphan", scopes: ["ask"], createdById: creator.id });
    expect(await principalFromApiKey(db, key)).not.toBeNull();
    await db.prisma.user.update({ where: { id: creator.id }, data: { disabledAt: new Date() } });
    expect(await principalFromApiKey(db, key)).toBeNull();
    await db.prisma.user.delete({ where: { id: creator.id } });
    // The key row survives its creator (created_by_id is set null), and must fail closed, not open.
    expect((await db.prisma.apiKey.findFirstOrThrow({ where: { name: "orphan" } })).createdById).toBeNull();
    expect(await principalFromApiKey(db, key)).toBeNull();
  });

  it("a key never has more scopes than its creator's current role", async () => {
    const creator = await makeUser(db, "admin");
    const { key } = await createApiKey(db, { name: "demoted", scopes: ["ask", "score", "admin"], createdById: creator.id });
    expect([...(await principalFromApiKey(db, key))!.permissions].sort()).toEqual(["admin", "ask", "score"]);
    await db.prisma.user.update({ where: { id: creator.id }, data: { role: "viewer" } });
    expect([...(await principalFromApiKey(db, key))!.permissions]).toEqual(["ask"]);
  });

  it("a child key expires no later than its parent, stays within its scopes and collections, and dies with it", async () => {
    const a = await makeCollection(db, { slug: "child-a", name: "A" });
    const b = await makeCollection(db, { slug: "child-b", name: "B" });
    const parentExpiry = new Date(Date.now() + 3_600_000);
    const parent = await createApiKey(db, { name: "parent", scopes: ["ask", "score"], collectionIds: [a.id], expiresAt: parentExpiry, createdById: admin.id });

    await expect(
      createApiKey(db, { name: "later", scopes: ["ask"], expiresAt: new Date(Date.now() + 7_200_000), createdById: admin.id, parentKeyId: parent.record.id }),
    ).rejects.toMatchObject({ status: 400, details: [expect.objectContaining({ path: "expiresAt" })] });

    // No expiry asked for: it gets the parent's. Scopes and collections beyond the parent's are dropped.
    const child = await createApiKey(db, { name: "child", scopes: ["ask", "import"], collectionIds: [a.id, b.id], createdById: admin.id, parentKeyId: parent.record.id });
    expect(child.record.expiresAt?.getTime()).toBe(parentExpiry.getTime());
    const p = (await principalFromApiKey(db, child.key))!;
    expect([...p.permissions]).toEqual(["ask"]);
    expect((await accessContextFor(db, p)).readableIds).toEqual([a.id]);

    await adminRevokeKey(await adminCtx(), parent.record.id);
    expect(await principalFromApiKey(db, child.key)).toBeNull();
  });

  it("a key limited to a collection its parent is not limited to ends up with the intersection, possibly nothing", async () => {
    const a = await makeCollection(db, { slug: "x-a", name: "A" });
    const b = await makeCollection(db, { slug: "x-b", name: "B" });
    const parent = await createApiKey(db, { name: "p", scopes: ["ask"], collectionIds: [a.id], createdById: admin.id });
    const child = await createApiKey(db, { name: "c", scopes: ["ask"], collectionIds: [b.id], createdById: admin.id, parentKeyId: parent.record.id });
    const ctx = await accessContextFor(db, (await principalFromApiKey(db, child.key))!);
    expect(ctx.readableIds).toEqual([]);
  });
});

describe("sessions", () => {
  it("sign-out, a password change, a role change and disabling end every session at once", async () => {
    const user = await makeUser(db, "evaluator");
    const ctx = await adminCtx();
    const c1 = await cookieFor(user);
    const c2 = await cookieFor(user); // a second browser
    expect(await principalFromCookies(db, c1)).not.toBeNull();
    expect(await principalFromCookies(db, c2)).not.toBeNull();

    await endSessions(db, user.id); // what sign-out does
    expect(await principalFromCookies(db, c1)).toBeNull();
    expect(await principalFromCookies(db, c2)).toBeNull();

    const steps: Array<Parameters<typeof adminUpdateUser>[2]> = [{ password: "another long password 1" }, { role: "viewer" }, { disabled: true }];
    for (const patch of steps) {
      const cookie = await cookieFor(user);
      expect(await principalFromCookies(db, cookie)).not.toBeNull();
      await adminUpdateUser(ctx, user.id, patch);
      expect(await principalFromCookies(db, cookie), JSON.stringify(patch)).toBeNull();
    }
  });

  it("renaming a user does not end their sessions", async () => {
    const user = await makeUser(db, "viewer");
    const cookie = await cookieFor(user);
    await adminUpdateUser(await adminCtx(), user.id, { name: "Renamed" });
    expect(await principalFromCookies(db, cookie)).not.toBeNull();
  });

  it("a cookie without a session version (made before versions existed) is refused", async () => {
    const user = await makeUser(db, "viewer");
    const cookie = `next-auth.session-token=${await encode({ token: { sub: user.id }, secret: process.env.AUTH_SECRET! })}`;
    expect(await principalFromCookies(db, cookie)).toBeNull();
  });

  it("refreshing a session (next-auth's jwt callback) never extends an ended one", async () => {
    const user = await makeUser(db, "viewer");
    const { sessionVersion } = await db.prisma.user.findUniqueOrThrow({ where: { id: user.id } });
    const jwt = authOptions().callbacks!.jwt!;
    const token = { sub: user.id, sv: sessionVersion };
    await expect(jwt({ token } as never)).resolves.toMatchObject({ sub: user.id });
    await endSessions(db, user.id);
    await expect(jwt({ token } as never)).rejects.toThrow(/session ended/);
  });
});

describe("conversations", () => {
  it("belong to exactly one principal: a key does not see its creator's, nor the creator the key's", async () => {
    const user = await makeUser(db, "viewer");
    const userCtx = await accessContextFor(db, (await principalFromCookies(db, await cookieFor(user)))!);
    const { key } = await createApiKey(db, { name: "script", scopes: ["ask"], createdById: user.id });
    const keyCtx = await accessContextFor(db, (await principalFromApiKey(db, key))!);

    const mine = await createConversation(userCtx, { title: "the user's" });
    const keys = await createConversation(keyCtx, { title: "the key's" });
    expect((await listConversations(userCtx)).map((c) => c.id)).toEqual([mine.id]);
    expect((await listConversations(keyCtx)).map((c) => c.id)).toEqual([keys.id]);
    await expect(getConversation(keyCtx, mine.id)).rejects.toMatchObject({ status: 404 });
    await expect(getConversation(userCtx, keys.id)).rejects.toMatchObject({ status: 404 });
  });
});

describe("jobs", () => {
  it("run with their creator's access as it is now, never more collections than they started with", async () => {
    const open1 = await makeCollection(db, { slug: "job-open", name: "Open" });
    const secret = await makeCollection(db, { slug: "job-secret", name: "Secret", restricted: true });
    const user = await makeUser(db, "evaluator");
    await addMembers(db, secret.id, [user.id]);
    const started = await accessContextFor(db, (await principalFromCookies(db, await cookieFor(user)))!);
    const ref = actorRef(started);
    expect(ref.collectionIds).toEqual(expect.arrayContaining([open1.id, secret.id]));

    // A collection created after the job started is not the job's to read, even though its creator may.
    const later = await makeCollection(db, { slug: "job-later", name: "Later" });
    let running = await accessContextForActor(db, ref);
    expect(running.readableIds).toContain(secret.id);
    expect(running.readableIds).not.toContain(later.id);

    // The creator loses a membership: the job loses it too.
    await db.prisma.collectionMember.deleteMany({ where: { collectionId: secret.id, userId: user.id } });
    running = await accessContextForActor(db, ref);
    expect(running.readableIds).not.toContain(secret.id);

    // The creator is disabled: the job has no access at all.
    await db.prisma.user.update({ where: { id: user.id }, data: { disabledAt: new Date() } });
    await expect(accessContextForActor(db, ref)).rejects.toMatchObject({ status: 403 });
  });

  it("a job started with a key fails closed once the key is revoked", async () => {
    const { key, record } = await createApiKey(db, { name: "job key", scopes: ["ask", "score"], createdById: admin.id });
    const ref = actorRef(await accessContextFor(db, (await principalFromApiKey(db, key))!));
    await expect(accessContextForActor(db, ref)).resolves.toMatchObject({ principal: { apiKeyId: record.id } });
    await db.prisma.apiKey.update({ where: { id: record.id }, data: { revokedAt: new Date() } });
    await expect(accessContextForActor(db, ref)).rejects.toMatchObject({ status: 403 });
  });
});
