// Users, API keys and collection access on a real database.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { accessContextFor, pickReadable } from "@/lib/access/context";
import { createApiKey, hashApiKey, principalFromApiKey } from "@/lib/auth/api-keys";
import { authenticate, createFirstAdmin, createUser } from "@/lib/auth/users";
import { createTestDb, type TestDb } from "@/tests/helpers/db";
import { makeUser } from "@/tests/helpers/auth";
import { addMembers, makeCollection } from "@/tests/helpers/factories";

describe("auth", () => {
  let db: TestDb;
  beforeAll(async () => {
    db = await createTestDb();
  });
  afterAll(() => db?.drop());

  it("creates exactly one first admin even when two setups race", async () => {
    const results = await Promise.allSettled([
      createFirstAdmin(db, { email: "first@example.test", password: "correct horse battery" }),
      createFirstAdmin(db, { email: "second@example.test", password: "correct horse battery" }),
    ]);
    expect(results.filter((r) => r.status === "fulfilled").length).toBe(1);
    expect((results.find((r) => r.status === "rejected") as PromiseRejectedResult).reason.message).toMatch(/already done/);
    expect(await db.prisma.user.count({ where: { role: "admin" } })).toBe(1);
  });

  it("stores argon2id hashes and authenticates by e-mail, case-insensitively", async () => {
    await createUser(db, { email: "Viewer@Example.test", password: "a long password", role: "viewer" });
    const row = await db.prisma.user.findUniqueOrThrow({ where: { email: "viewer@example.test" } });
    expect(row.passwordHash).toMatch(/^\$argon2id\$/);
    expect(row.passwordHash).not.toContain("a long password");
    expect((await authenticate(db, "VIEWER@example.test", "a long password"))?.id).toBe(row.id);
    expect(await authenticate(db, "viewer@example.test", "wrong password!")).toBeNull();
    await db.prisma.user.update({ where: { id: row.id }, data: { disabledAt: new Date() } });
    expect(await authenticate(db, "viewer@example.test", "a long password")).toBeNull();
  });

  it("refuses short passwords and bad e-mails, naming each field", async () => {
    await expect(createUser(db, { email: "nope", password: "short", role: "viewer" })).rejects.toMatchObject({
      status: 400,
      details: [
        { path: "email", message: "is not an e-mail address" },
        { path: "password", message: "must have at least 10 characters" },
      ],
    });
  });

  it("keeps only a hash of API keys and resolves, expires and revokes them", async () => {
    const admin = await makeUser(db, "admin");
    const { key, record } = await createApiKey(db, { name: "ci", scopes: ["ask", "score"], createdById: admin.id });
    expect(key).toMatch(/^sot_[a-z0-9]{8}_/);
    expect(record.keyHash).toBe(hashApiKey(key));
    expect(JSON.stringify(await db.prisma.apiKey.findMany())).not.toContain(key);
    const p = await principalFromApiKey(db, key);
    expect([...p!.permissions].sort()).toEqual(["ask", "score"]);
    expect((await db.prisma.apiKey.findUniqueOrThrow({ where: { id: record.id } })).lastUsedAt).not.toBeNull();

    expect(await principalFromApiKey(db, key.slice(0, -1) + (key.endsWith("A") ? "B" : "A"))).toBeNull();
    const expired = await createApiKey(db, { name: "old", scopes: ["ask"], createdById: admin.id, expiresAt: new Date(Date.now() - 1000) });
    expect(await principalFromApiKey(db, expired.key)).toBeNull();
    await db.prisma.apiKey.update({ where: { id: record.id }, data: { revokedAt: new Date() } });
    expect(await principalFromApiKey(db, key)).toBeNull();
  });

  it("never lets a key do more than its creator's role allows", async () => {
    const viewer = await makeUser(db, "viewer");
    const { key } = await createApiKey(db, { name: "sneaky", scopes: ["ask", "admin"], createdById: viewer.id });
    expect([...(await principalFromApiKey(db, key))!.permissions]).toEqual(["ask"]);
  });

  it("shows restricted collections only to members and admins, and narrows keys to their collections", async () => {
    const open = await makeCollection(db, { slug: "open", name: "Open" });
    const hr = await makeCollection(db, { slug: "hr", name: "HR", restricted: true });
    const member = await makeUser(db, "viewer");
    const outsider = await makeUser(db, "viewer");
    await addMembers(db, hr.id, [member.id]);
    const asUser = (u: { id: string }) => ({ kind: "user" as const, userId: u.id, apiKeyId: null, label: "", role: "viewer" as const, permissions: new Set(["ask" as const]), collectionLimit: null });

    expect((await accessContextFor(db, asUser(member))).readableIds).toEqual(expect.arrayContaining([open.id, hr.id]));
    expect((await accessContextFor(db, asUser(outsider))).readableIds).not.toContain(hr.id);
    await expect(accessContextFor(db, asUser(outsider)).then((c) => pickReadable(c, [hr.id]))).rejects.toMatchObject({ status: 403 });

    const { key } = await createApiKey(db, { name: "hr only", scopes: ["ask"], collectionIds: [hr.id], createdById: member.id });
    const keyPrincipal = (await principalFromApiKey(db, key))!;
    expect((await accessContextFor(db, keyPrincipal)).readableIds).toEqual([hr.id]);
    await expect(accessContextFor(db, keyPrincipal).then((c) => pickReadable(c, [open.id]))).rejects.toMatchObject({ status: 403 });
  });
});
