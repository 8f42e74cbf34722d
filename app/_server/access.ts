// The signed-in user's access context for server components (pages). Route handlers get theirs from
// lib/http/route.ts; both are built by lib/access/context.ts, the one place access is decided.
import { cookies, headers } from "next/headers";
import { redirect } from "next/navigation";
import { accessContextFor, can, type AccessContext } from "@/lib/access/context";
import type { Permission } from "@/lib/auth/roles";
import { principalFromCookies } from "@/lib/auth/session";
import { hasUsers } from "@/lib/auth/users";
import { getDb } from "@/lib/db/client";
import { safeRedirectPath } from "@/lib/http/redirect";

export async function getPageAccess(): Promise<AccessContext | null> {
  const db = await getDb();
  const cookieHeader = (await cookies())
    .getAll()
    .map((c) => `${c.name}=${encodeURIComponent(c.value)}`)
    .join("; ");
  const principal = await principalFromCookies(db, cookieHeader);
  return principal ? accessContextFor(db, principal) : null;
}

/** Sends visitors to setup (no user yet) or sign-in; a user without the permission to /forbidden. */
export async function requirePageAccess(permission: Permission = "ask"): Promise<AccessContext> {
  const access = await getPageAccess();
  if (!access) {
    const db = await getDb();
    if (!(await hasUsers(db))) redirect("/setup");
    // The request target can be an absolute URL (proxy form): only a same-site path is passed on.
    const path = safeRedirectPath((await headers()).get("x-sot-path"));
    redirect(`/signin?callbackUrl=${encodeURIComponent(path)}`);
  }
  if (!can(access, permission)) redirect(`/forbidden?need=${permission}`);
  return access;
}
