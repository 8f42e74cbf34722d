// KES's operations through its one handler (the in-process transport of the embedded default), on a
// real database: checks on every call, grants and revocation, context binding, rotation, shredding,
// audit. tests/integration/kes-process.test.ts runs the same client against KES as its own process.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ringFrom, generateMasterKey } from "@/lib/crypto/keys";
import { KesClient, inProcessTransport } from "@/lib/kes/client";
import { serviceTable, type KesInstance } from "@/lib/kes/protocol";
import { createTestDb, type TestDb } from "@/tests/helpers/db";
import { accessOf, makeUser } from "@/tests/helpers/auth";
import { decideApproval, requestCommandApproval } from "@/lib/approvals";

const TOKENS = { web: "web-token-0123456789abcdefghij", other: "other-token-0123456789abcdefghij", third: "third-token-0123456789abcdefghij" };
let db: TestDb;
let web: KesClient;
let other: KesClient;
let third: KesClient;
let inst: KesInstance;

beforeAll(async () => {
  db = await createTestDb();
  inst = {
    db,
    ring: ringFrom([generateMasterKey()], { kind: "env" }),
    services: serviceTable(`sot-web:${TOKENS.web},other:${TOKENS.other},third:${TOKENS.third}`),
  };
  web = new KesClient(inProcessTransport(inst, TOKENS.web));
  other = new KesClient(inProcessTransport(inst, TOKENS.other));
  third = new KesClient(inProcessTransport(inst, TOKENS.third));
}, 120_000);
afterAll(async () => {
  await db?.drop();
});

const failure = (p: Promise<unknown>) =>
  p.then(
    () => {
      throw new Error("expected the call to fail");
    },
    (e: { status: number; code: string; message: string }) => e,
  );

describe("KES", () => {
  it("generates a data key and gives the same one back only with the same context", async () => {
    const key = await web.createKey("rows", { readers: ["service:third"] });
    expect(key).toMatchObject({ name: "rows", owner: "service:sot-web", currentVersion: 1, minDecryptionVersion: 1, versions: [1], status: "active" });
    const dk = await web.generateDataKey("rows", { table: "secrets", row: "1" });
    expect(dk.plaintext).toHaveLength(32);
    expect(dk.wrapped).toMatch(/^kes:v1:rows:1:/);
    expect((await web.decryptDataKey(dk.wrapped, { row: "1", table: "secrets" })).equals(dk.plaintext)).toBe(true);
    // a reader may use it too
    expect((await third.decryptDataKey(dk.wrapped, { table: "secrets", row: "1" })).equals(dk.plaintext)).toBe(true);

    // moved to another row: refused
    const moved = await failure(web.decryptDataKey(dk.wrapped, { table: "secrets", row: "2" }));
    expect(moved).toMatchObject({ status: 422, code: "decrypt_failed" });
    // relabelled as another key of the same owner: refused (the name is bound as associated data)
    await web.createKey("rows-b");
    const relabelled = await failure(web.decryptDataKey(dk.wrapped.replace("kes:v1:rows:", "kes:v1:rows-b:"), { table: "secrets", row: "1" }));
    expect(relabelled).toMatchObject({ status: 422, code: "decrypt_failed" });
    // envelope payloads
    const blob = await web.encrypt(Buffer.from("hello"), { keyId: "rows", context: { cubby: "c1", key: "k" } });
    expect((await web.decrypt(blob, { context: { cubby: "c1", key: "k" } })).toString()).toBe("hello");
    expect(await failure(web.decrypt(blob, { context: { cubby: "c2", key: "k" } }))).toMatchObject({ status: 422 });
  });

  it("refuses callers without a credential, ownership, readership or live grant, on every call", async () => {
    await web.createKey("shared");
    const dk = await web.generateDataKey("shared", { id: "x" });
    const bad = new KesClient(inProcessTransport(inst, "not-a-known-token-0123456789"));
    expect(await failure(bad.decryptDataKey(dk.wrapped, { id: "x" }))).toMatchObject({ status: 401 });
    expect(await failure(other.decryptDataKey(dk.wrapped, { id: "x" }))).toMatchObject({ status: 403 });
    expect(await failure(other.generateDataKey("shared", {}))).toMatchObject({ status: 403 });
    // only the owner manages
    expect(await failure(other.grant("shared", "service:other", { operations: ["decrypt"] }))).toMatchObject({ status: 403 });
    expect(await failure(other.shred("shared"))).toMatchObject({ status: 403 });

    await web.grant("shared", "service:other", { operations: ["decrypt"] });
    expect((await other.decryptDataKey(dk.wrapped, { id: "x" })).equals(dk.plaintext)).toBe(true);
    expect(await failure(other.generateDataKey("shared", {}))).toMatchObject({ status: 403 }); // decrypt only
    expect(await web.revoke("shared", "service:other")).toEqual({ revoked: 1 });
    expect(await failure(other.decryptDataKey(dk.wrapped, { id: "x" }))).toMatchObject({ status: 403 });

    // a grant that expires stops at its expiry
    await web.grant("shared", "service:other", { operations: ["decrypt"], expiresAt: new Date(Date.now() + 1500) });
    expect((await other.decryptDataKey(dk.wrapped, { id: "x" })).equals(dk.plaintext)).toBe(true);
    await new Promise((r) => setTimeout(r, 1700));
    expect(await failure(other.decryptDataKey(dk.wrapped, { id: "x" }))).toMatchObject({ status: 403 });
    const grants = await web.listGrants("shared");
    expect(grants.map((g) => [g.grantee, g.active, !!g.revokedAt])).toEqual([
      ["service:other", false, true],
      ["service:other", false, false],
    ]);
  });

  it("rotates in two steps, rewraps without plaintext, and retires old versions", async () => {
    await web.createKey("rot");
    const v1 = await web.generateDataKey("rot", { n: "1" });
    const added = await web.addVersion("rot");
    expect(added).toMatchObject({ currentVersion: 1, versions: [1, 2] });
    expect((await web.generateDataKey("rot", { n: "x" })).version).toBe(1); // added, not yet promoted
    await web.promote("rot", 2);
    const v2 = await web.generateDataKey("rot", { n: "2" });
    expect(v2.wrapped).toMatch(/^kes:v1:rot:2:/);
    expect((await web.decryptDataKey(v1.wrapped, { n: "1" })).equals(v1.plaintext)).toBe(true);
    const re = await web.rewrap(v1.wrapped, { n: "1" });
    expect(re.version).toBe(2);
    expect(re).not.toHaveProperty("plaintext");
    expect(await failure(web.setMinDecryptionVersion("rot", 3))).toMatchObject({ status: 400 });
    await web.setMinDecryptionVersion("rot", 2);
    expect(await failure(web.decryptDataKey(v1.wrapped, { n: "1" }))).toMatchObject({ status: 409, code: "version_retired" });
    expect((await web.decryptDataKey(re.wrapped, { n: "1" })).equals(v1.plaintext)).toBe(true);
    expect(await failure(web.promote("rot", 1))).toMatchObject({ status: 400 });
  });

  it("disables and shreds: a shredded key opens nothing again, and its material is gone", async () => {
    await web.createKey("gone");
    const dk = await web.generateDataKey("gone", {});
    await web.disable("gone");
    expect(await failure(web.decryptDataKey(dk.wrapped, {}))).toMatchObject({ status: 409, code: "key_disabled" });
    await web.enable("gone");
    expect((await web.decryptDataKey(dk.wrapped, {})).equals(dk.plaintext)).toBe(true);
    // Shredding waits for two admins: one asks for exactly this key, another approves; it runs once.
    expect(await failure(web.shred("gone"))).toMatchObject({ status: 409 });
    const [asker, approver] = [await accessOf(db, await makeUser(db, "admin")), await accessOf(db, await makeUser(db, "admin"))];
    const request = await requestCommandApproval(asker, { action: "kes.key.shred", args: { keyName: "gone" } });
    expect(await failure(web.shred("gone", request.id))).toMatchObject({ status: 409 }); // not approved yet
    await decideApproval(approver, request.id, { decision: "approve", comment: "tenant left" });
    await web.createKey("kept");
    expect(await failure(web.shred("kept", request.id))).toMatchObject({ status: 409 }); // approved for another key
    expect((await web.decryptDataKey(dk.wrapped, {})).equals(dk.plaintext)).toBe(true);
    const shredded = await web.shred("gone", request.id);
    expect(shredded.status).toBe("shredded");
    expect(await failure(web.shred("gone", request.id))).toMatchObject({ status: 409 }); // once
    expect(await failure(web.decryptDataKey(dk.wrapped, {}))).toMatchObject({ status: 410, code: "key_shredded" });
    expect(await failure(web.generateDataKey("gone", {}))).toMatchObject({ status: 410 });
    const rows = await db.prisma.kesKeyVersion.findMany({ where: { key: { name: "gone" } } });
    expect(rows.map((r) => [r.material, r.masterKeyId])).toEqual([[null, null]]);
  });

  it("answers bad input with what is wrong and where", async () => {
    expect(await failure(web.createKey("Bad Name"))).toMatchObject({ status: 400 });
    expect(await failure(web.createKey("rows"))).toMatchObject({ status: 409 });
    expect(await failure(web.decryptDataKey("garbage", {}))).toMatchObject({ status: 400 });
    expect(await failure(web.decryptDataKey("kes:v1:nope:1:AAAA", {}))).toMatchObject({ status: 404 });
    expect(await failure(web.grant("rows", "nobody", { operations: ["decrypt"] }))).toMatchObject({ status: 400 });
    expect(await failure(web.call("keys.frobnicate"))).toMatchObject({ status: 404 });
  });

  it("audits every generate, decrypt, grant and revoke, allowed or refused, never key material", async () => {
    const entries = await db.prisma.auditLog.findMany({ where: { action: { startsWith: "kes." } }, orderBy: { at: "asc" } });
    const actions = new Set(entries.map((e) => e.action));
    for (const a of ["kes.create", "kes.generate", "kes.decrypt", "kes.grant", "kes.revoke", "kes.rewrap", "kes.shred", "kes.promote"]) {
      expect(actions, a).toContain(a);
    }
    const refused = entries.filter((e) => (e.details as { allowed?: boolean }).allowed === false);
    expect(refused.some((e) => e.action === "kes.decrypt" && e.actorLabel === "service:other")).toBe(true);
    const text = JSON.stringify(entries);
    expect(text).not.toMatch(/plaintext|material/i);
    // the stored material is wrapped: the versions table holds 60-byte sealed values, not 32-byte keys
    const versions = await db.prisma.kesKeyVersion.findMany({ where: { material: { not: null } } });
    expect(versions.length).toBeGreaterThan(0);
    for (const v of versions) expect(v.material!.length).toBe(60);
  });
});
