// Users, keys and signed-in browsers for tests, made through the product's own code paths.
import { randomBytes } from "node:crypto";
import type { Page } from "playwright-core";
import { accessContextFor, userPrincipal, type AccessContext } from "@/lib/access/context";
import { createApiKey, principalFromApiKey } from "@/lib/auth/api-keys";
import type { Permission, Role } from "@/lib/auth/roles";
import { createUser } from "@/lib/auth/users";
import type { Db } from "@/lib/db/client";

export interface TestUser {
  id: string;
  email: string;
  password: string;
  role: Role;
}

export async function makeUser(db: Db, role: Role = "admin", email?: string): Promise<TestUser> {
  const password = `pw-${randomBytes(8).toString("hex")}`;
  const addr = email ?? `${role}-${randomBytes(4).toString("hex")}@example.test`;
  const user = await createUser(db, { email: addr, password, role, name: `${role} tester` });
  return { id: user.id, email: user.email, password, role };
}

/** A bearer key with the given scopes, created by a user of the given role (admin by default). */
export async function makeApiKey(
  db: Db,
  scopes: Permission[],
  opts: { collectionIds?: string[]; creator?: TestUser; expiresAt?: Date } = {},
): Promise<{ key: string; id: string; headers: Record<string, string> }> {
  const creator = opts.creator ?? (await makeUser(db, "admin"));
  const { key, record } = await createApiKey(db, {
    name: `test ${scopes.join("+")}`,
    scopes,
    collectionIds: opts.collectionIds,
    expiresAt: opts.expiresAt,
    createdById: creator.id,
  });
  return { key, id: record.id, headers: { authorization: `Bearer ${key}` } };
}

/** Signs a browser page in through the real sign-in form. */
export async function signIn(page: Page, baseUrl: string, user: Pick<TestUser, "email" | "password">): Promise<void> {
  await page.goto(`${baseUrl}/signin`);
  await page.getByLabel("E-mail").fill(user.email);
  await page.getByLabel("Password").fill(user.password);
  await Promise.all([page.waitForURL((u) => !u.pathname.startsWith("/signin"), { timeout: 30_000 }), page.getByRole("button", { name: "Sign in" }).click()]);
}

/** A user's access context as the route wrapper would build it (for calling lib/ services directly). */
export async function accessOf(db: Db, user: Pick<TestUser, "id">): Promise<AccessContext> {
  const principal = await userPrincipal(db, user.id);
  if (!principal) throw new Error(`user ${user.id} is missing or disabled`);
  return accessContextFor(db, principal);
}

/** A key's access context as the route wrapper would build it. */
export async function keyAccessOf(db: Db, key: string): Promise<AccessContext> {
  const principal = await principalFromApiKey(db, key);
  if (!principal) throw new Error("the key is invalid, revoked or expired");
  return accessContextFor(db, principal);
}
