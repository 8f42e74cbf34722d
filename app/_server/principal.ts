// The signed-in principal for server components (pages). Route handlers use lib/http/route.ts instead.
import { cookies, headers } from "next/headers";
import { redirect } from "next/navigation";
import { can, type Permission, type Principal } from "@/lib/auth/roles";
import { principalFromCookies } from "@/lib/auth/session";
import { hasUsers } from "@/lib/auth/users";
import { getDb } from "@/lib/db/client";

export async function getPagePrincipal(): Promise<Principal | null> {
  const db = await getDb();
  const cookieHeader = (await cookies())
    .getAll()
    .map((c) => `${c.name}=${encodeURIComponent(c.value)}`)
    .join("; ");
  return principalFromCookies(db, cookieHeader);
}

/** Sends visitors to setup (no user yet) or sign-in; a user without the permission to /forbidden. */
export async function requirePagePrincipal(permission: Permission = "ask"): Promise<Principal> {
  const principal = await getPagePrincipal();
  if (!principal) {
    const db = await getDb();
    if (!(await hasUsers(db))) redirect("/setup");
    const path = (await headers()).get("x-sot-path") ?? "/";
    redirect(`/signin?callbackUrl=${encodeURIComponent(path)}`);
  }
  if (!can(principal, permission)) redirect(`/forbidden?need=${permission}`);
  return principal;
}
