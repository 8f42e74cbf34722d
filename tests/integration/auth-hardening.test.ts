// Sign-in does the same work whatever the e-mail (so timing does not tell which accounts exist), and
// setup refuses before it hashes anything once an administrator exists. The argon2 operations are
// counted by lib/auth/passwords.ts (sot_password_hash_operations_total), read here before and after.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DUMMY_PASSWORD_HASH, hashPassword } from "@/lib/auth/passwords";
import { authenticate, createFirstAdmin, createUser } from "@/lib/auth/users";
import { passwordHashingCount } from "@/lib/metrics";
import { createTestDb, type TestDb } from "@/tests/helpers/db";

async function argon2Work<T>(fn: () => Promise<T>): Promise<{ result: T; hash: number; verify: number }> {
  const before = { hash: passwordHashingCount("hash"), verify: passwordHashingCount("verify") };
  const result = await fn();
  return { result, hash: passwordHashingCount("hash") - before.hash, verify: passwordHashingCount("verify") - before.verify };
}

describe("sign-in and setup do argon2 work only where they must", () => {
  let db: TestDb;
  beforeAll(async () => {
    db = await createTestDb();
  });
  afterAll(() => db?.drop());

  it("setup refuses before hashing the password once an administrator exists", async () => {
    const first = await argon2Work(() => createFirstAdmin(db, { email: "first@example.test", password: "correct horse battery" }));
    expect(first.hash).toBe(1);
    const again = await argon2Work(() => createFirstAdmin(db, { email: "second@example.test", password: "correct horse battery" }).catch((e) => e));
    expect(again.result).toMatchObject({ status: 409, message: expect.stringMatching(/already done/) });
    expect(again.hash).toBe(0);
    expect(again.verify).toBe(0);
  });

  it("runs exactly one verification for a known, unknown, password-less, disabled or wrong sign-in", async () => {
    const known = await createUser(db, { email: "known@example.test", password: "a long password", role: "viewer" });
    await createUser(db, { email: "sso-only@example.test", password: null, role: "viewer" });
    const disabled = await createUser(db, { email: "gone@example.test", password: "a long password", role: "viewer" });
    await db.prisma.user.update({ where: { id: disabled.id }, data: { disabledAt: new Date() } });

    const cases: Array<[string, string, string | null]> = [
      ["known, right password", "known@example.test", known.id],
      ["known, wrong password", "known@example.test", null],
      ["unknown e-mail", "nobody@example.test", null],
      ["no password (single sign-on only)", "sso-only@example.test", null],
      ["disabled", "gone@example.test", null],
    ];
    for (const [label, email, expected] of cases) {
      const password = label.includes("wrong") ? "not the password" : "a long password";
      const work = await argon2Work(() => authenticate(db, email, password));
      expect(work.result?.id ?? null, label).toBe(expected);
      expect(work.verify, label).toBe(1);
      expect(work.hash, label).toBe(0);
    }
  });

  it("the dummy hash costs what a real one does (same algorithm and parameters) and matches no password", async () => {
    const real = await hashPassword("any password at all");
    const params = (h: string) => h.split("$").slice(1, 4).join("$");
    expect(params(DUMMY_PASSWORD_HASH)).toBe(params(real));
    expect(await authenticate(db, "nobody@example.test", "")).toBeNull();
  });
});
