// Cookie sessions through next-auth (credentials provider, signed JWT cookie). The cookie carries the
// user id and the user's session version: role, "disabled" and the version are read from the database
// on every request, so a demoted or disabled user loses access at once, and sign-out, a password or
// role change end every session of that user on every web process (endSessions raises the version).
import type { NextAuthOptions } from "next-auth";
import CredentialsProvider from "next-auth/providers/credentials";
import { decode } from "next-auth/jwt";
import { getDb, type Db } from "../db/client";
import { getConfig } from "../config";
import { principalOfUser } from "../access/context";
import type { Principal } from "./roles";
import { sessionUser } from "./queries";
import { getAuthSecret } from "./secret";
import { authenticate } from "./users";
import { userForOidcProfile } from "./oidc";
import { allowSignInAttempt, clientAddress } from "../http/rate-limit";
import { sameOriginRedirect } from "../http/redirect";

export const SESSION_COOKIE = "next-auth.session-token";
export const SECURE_SESSION_COOKIE = "__Secure-next-auth.session-token";

export function authOptions(): NextAuthOptions {
  const config = getConfig();
  return {
    secret: getAuthSecret(),
    session: { strategy: "jwt", maxAge: config.SESSION_MAX_AGE_HOURS * 3600 },
    pages: { signIn: "/signin" },
    providers: [
      CredentialsProvider({
        name: "E-mail and password",
        credentials: { email: { label: "E-mail", type: "email" }, password: { label: "Password", type: "password" } },
        async authorize(credentials, req) {
          if (!credentials?.email || !credentials.password) return null;
          // Too many attempts for this address or from this client: refused like a wrong password.
          const db = await getDb();
          if (!(await allowSignInAttempt(db, credentials.email, clientAddress((req?.headers ?? {}) as Record<string, string | undefined>)))) return null;
          const user = await authenticate(db, credentials.email, credentials.password);
          return user ? { id: user.id, email: user.email, name: user.name || user.email } : null;
        },
      }),
      // Optional OpenID Connect provider (lib/auth/oidc.ts): users matched or created by e-mail.
      ...(config.OIDC_ISSUER
        ? [
            {
              id: "oidc",
              name: config.OIDC_DISPLAY_NAME,
              type: "oauth" as const,
              wellKnown: `${config.OIDC_ISSUER.replace(/\/$/, "")}/.well-known/openid-configuration`,
              clientId: config.OIDC_CLIENT_ID,
              clientSecret: config.OIDC_CLIENT_SECRET,
              authorization: { params: { scope: "openid email profile" } },
              idToken: true,
              checks: ["pkce" as const, "state" as const],
              profile: (p: { sub: string; email?: string; name?: string }) => ({ id: p.sub, email: p.email ?? null, name: p.name ?? null }),
            },
          ]
        : []),
    ],
    callbacks: {
      // After sign-in and sign-out: same-site paths only (lib/http/redirect.ts).
      redirect: ({ url, baseUrl }) => sameOriginRedirect(url, baseUrl),
      async signIn({ account, profile }) {
        if (account?.provider !== "oidc") return true;
        const outcome = await userForOidcProfile(await getDb(), profile ?? {}, config.OIDC_DEFAULT_ROLE);
        if (!outcome.ok) return `/signin?error=${outcome.reason}`;
        (account as { sotUserId?: string }).sotUserId = outcome.userId;
        return true;
      },
      async jwt({ token, user, account }) {
        const db = await getDb();
        if (user) {
          token.sub = (account as { sotUserId?: string } | null)?.sotUserId ?? user.id;
          token.sv = await sessionVersion(db, token.sub);
          return token;
        }
        // Refreshing a session (GET /api/auth/session) must never extend one that was ended: throwing
        // here makes next-auth clear the cookie and answer with no session.
        if (!token.sub || !(await sessionIsCurrent(db, token.sub, token.sv))) throw new Error("session ended");
        return token;
      },
      async session({ session, token }) {
        if (session.user) (session.user as { id?: string }).id = token.sub;
        return session;
      },
    },
    events: {
      // Signing out ends every session of the user, not only this browser's cookie (a stolen copy of
      // the cookie stops working too).
      async signOut({ token }) {
        if (token?.sub) await endSessions(await getDb(), token.sub);
      },
    },
  };
}

function readCookie(cookieHeader: string | null, name: string): string | undefined {
  if (!cookieHeader) return undefined;
  for (const part of cookieHeader.split(/;\s*/)) {
    const i = part.indexOf("=");
    if (i > 0 && part.slice(0, i) === name) return decodeURIComponent(part.slice(i + 1));
  }
  return undefined;
}

/** next-auth splits large cookies into name.0, name.1…; ours are small, but read both forms. */
function sessionToken(cookieHeader: string | null): string | undefined {
  for (const name of [SECURE_SESSION_COOKIE, SESSION_COOKIE]) {
    const whole = readCookie(cookieHeader, name);
    if (whole) return whole;
    const parts: string[] = [];
    for (let i = 0; ; i++) {
      const p = readCookie(cookieHeader, `${name}.${i}`);
      if (!p) break;
      parts.push(p);
    }
    if (parts.length) return parts.join("");
  }
  return undefined;
}

/** The signed-in user's principal from a Cookie header, or null. */
export async function principalFromCookies(db: Db, cookieHeader: string | null): Promise<Principal | null> {
  const token = sessionToken(cookieHeader);
  if (!token) return null;
  let payload;
  try {
    payload = await decode({ token, secret: getAuthSecret() });
  } catch {
    return null;
  }
  if (!payload?.sub || (typeof payload.exp === "number" && payload.exp * 1000 < Date.now())) return null;
  // payload.sub is the user id we signed into the token; a malformed one simply matches no row.
  if (!/^[0-9a-f-]{36}$/i.test(payload.sub)) return null;
  const user = await sessionUser(db, payload.sub);
  if (!user || payload.sv !== user.sessionVersion) return null;
  return principalOfUser(user);
}

async function sessionVersion(db: Db, userId: string): Promise<number> {
  const user = await db.prisma.user.findUnique({ where: { id: userId }, select: { sessionVersion: true } });
  return user?.sessionVersion ?? 0;
}

/** A session is current while its user exists, is enabled and has not raised its session version since. */
async function sessionIsCurrent(db: Db, userId: string, version: unknown): Promise<boolean> {
  const user = await db.prisma.user.findUnique({ where: { id: userId }, select: { sessionVersion: true, disabledAt: true } });
  return !!user && !user.disabledAt && typeof version === "number" && version === user.sessionVersion;
}

/** Ends every session of a user at once (sign-out, password or role change, disabling). */
export async function endSessions(db: Db, userId: string): Promise<void> {
  await db.prisma.user.update({ where: { id: userId }, data: { sessionVersion: { increment: 1 } } });
}
