// People: creation (the first admin included), lookup for sign-in.
import { audit } from "../audit";
import type { Db } from "../db/client";
import { ConflictError, ValidationError } from "../errors";
import { hashPassword, MIN_PASSWORD_LENGTH, verifyPassword } from "./passwords";
import { insertFirstAdmin } from "./queries";
import { ROLES, type Role } from "./roles";

export interface NewUser {
  email: string;
  name?: string;
  password: string | null;
  role: Role;
}

const EMAIL = /^[^\s@]+@[^\s@]+$/;

export function normaliseEmail(email: string): string {
  return email.trim().toLowerCase();
}

function validate(input: NewUser) {
  const problems: Array<{ path: string; message: string }> = [];
  if (!EMAIL.test(normaliseEmail(input.email))) problems.push({ path: "email", message: "is not an e-mail address" });
  if (input.password !== null && input.password.length < MIN_PASSWORD_LENGTH) {
    problems.push({ path: "password", message: `must have at least ${MIN_PASSWORD_LENGTH} characters` });
  }
  if (!ROLES.includes(input.role)) problems.push({ path: "role", message: `must be one of ${ROLES.join(", ")}` });
  if (problems.length) throw new ValidationError("The user cannot be created.", problems);
}

export async function createUser(db: Db, input: NewUser) {
  validate(input);
  const email = normaliseEmail(input.email);
  const passwordHash = input.password === null ? null : await hashPassword(input.password);
  try {
    return await db.prisma.user.create({ data: { email, name: input.name ?? "", passwordHash, role: input.role } });
  } catch (err) {
    if ((err as { code?: string }).code === "P2002") throw new ConflictError(`A user with e-mail ${email} already exists.`);
    throw err;
  }
}

export async function hasUsers(db: Db): Promise<boolean> {
  return (await db.prisma.user.count()) > 0;
}

/**
 * The one-time setup: creates the first admin only while there is no user at all. The check and the
 * insert run under one advisory lock, so two simultaneous setups cannot both succeed.
 */
export async function createFirstAdmin(db: Db, input: Omit<NewUser, "role">, opts: { requestId?: string } = {}) {
  validate({ ...input, role: "admin" });
  // Refuse before hashing: once setup is done, this anonymous endpoint must not cost an argon2 hash.
  // (The check under the lock below is the one that decides a race.)
  if (await hasUsers(db)) throw new ConflictError("Setup is already done: an administrator exists.");
  const passwordHash = input.password === null ? null : await hashPassword(input.password);
  const id = await insertFirstAdmin(db, { email: normaliseEmail(input.email), name: input.name ?? "", passwordHash });
  if (!id) throw new ConflictError("Setup is already done: an administrator exists.");
  const user = await db.prisma.user.findUniqueOrThrow({ where: { id } });
  // The system made this user (nobody is signed in yet).
  await audit(db, null, "user.create", `user:${user.id}`, { email: user.email, role: user.role, via: "setup" }, opts);
  return user;
}

/**
 * The user for an e-mail and password, or null — the same answer, after the same work, for an unknown
 * e-mail, a user without a password (single sign-on only), a disabled user and a wrong password: every
 * call runs exactly one argon2 verification (against a dummy hash when there is no real one), so the
 * time taken does not tell which accounts exist.
 */
export async function authenticate(db: Db, email: string, password: string) {
  const user = await db.prisma.user.findUnique({ where: { email: normaliseEmail(email) } });
  const ok = await verifyPassword(user?.passwordHash, password);
  if (!user || !ok || user.disabledAt) return null;
  await db.prisma.user.update({ where: { id: user.id }, data: { lastLoginAt: new Date() } });
  return user;
}
