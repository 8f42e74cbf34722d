// Optional OpenID Connect sign-in (OIDC_ISSUER + OIDC_CLIENT_ID + OIDC_CLIENT_SECRET). People are
// matched by e-mail: an existing user signs in as themselves (keeping their role); an unknown e-mail
// becomes a new user with OIDC_DEFAULT_ROLE and no password. A disabled user stays out.
import type { Db } from "../db/client";
import { audit } from "../audit";
import { normaliseEmail } from "./users";
import type { Role } from "./roles";

export interface OidcProfile {
  sub?: string;
  email?: string | null;
  email_verified?: boolean | string | null;
  name?: string | null;
  preferred_username?: string | null;
}

export type OidcOutcome = { ok: true; userId: string; created: boolean } | { ok: false; reason: "no_email" | "unverified_email" | "disabled" };

/** The user a provider's profile signs in as, creating one on first sign-in. */
export async function userForOidcProfile(db: Db, profile: OidcProfile, defaultRole: Role): Promise<OidcOutcome> {
  if (!profile.email) return { ok: false, reason: "no_email" };
  // Providers that say the address is unverified could let anyone claim anyone's account.
  if (profile.email_verified === false || profile.email_verified === "false") return { ok: false, reason: "unverified_email" };
  const email = normaliseEmail(profile.email);
  const existing = await db.prisma.user.findUnique({ where: { email } });
  if (existing) {
    if (existing.disabledAt) return { ok: false, reason: "disabled" };
    await db.prisma.user.update({ where: { id: existing.id }, data: { lastLoginAt: new Date() } });
    return { ok: true, userId: existing.id, created: false };
  }
  try {
    const user = await db.prisma.user.create({
      data: { email, name: profile.name ?? profile.preferred_username ?? "", passwordHash: null, role: defaultRole, lastLoginAt: new Date() },
    });
    await audit(db, null, "user.create", `user:${user.id}`, { via: "oidc", email, role: defaultRole });
    return { ok: true, userId: user.id, created: true };
  } catch (err) {
    // Two first sign-ins at once: the other one created the user.
    if ((err as { code?: string }).code === "P2002") {
      const again = await db.prisma.user.findUnique({ where: { email } });
      if (again && !again.disabledAt) return { ok: true, userId: again.id, created: false };
    }
    throw err;
  }
}
