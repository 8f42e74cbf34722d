// CSRF protection for cookie sessions. A browser attaches the session cookie to any request to our
// origin, including a form or fetch another site makes it send; such requests are told apart by the
// Fetch Metadata (`Sec-Fetch-Site`) and `Origin` headers every current browser sends on them. Bearer
// keys are not sent automatically by browsers, so key-authenticated requests need no check.
import { ForbiddenError } from "../errors";

const SAFE = new Set(["GET", "HEAD", "OPTIONS"]);

/** The hosts this app is reached under: the request's own Host (as forwarded by nginx) and PUBLIC_URL's. */
function ownHosts(headers: Headers, requestUrl: string, publicUrl?: string): Set<string> {
  const hosts = new Set<string>();
  const fwd = headers.get("x-forwarded-host")?.split(",")[0]?.trim();
  const host = headers.get("host");
  if (fwd) hosts.add(fwd.toLowerCase());
  if (host) hosts.add(host.toLowerCase());
  try {
    hosts.add(new URL(requestUrl).host.toLowerCase());
  } catch {
    /* relative URL: nothing to add */
  }
  if (publicUrl) {
    try {
      hosts.add(new URL(publicUrl).host.toLowerCase());
    } catch {
      /* validated by config */
    }
  }
  return hosts;
}

/**
 * Throws 403 for a state-changing request that carries cookies but no bearer key and comes from
 * another site. Requests without either header (curl, server-to-server) pass: they cannot be forged
 * by a browser, because browsers always send Origin on cross-origin POST/PUT/PATCH/DELETE.
 */
export function assertSameOrigin(request: Request, publicUrl?: string): void {
  if (SAFE.has(request.method.toUpperCase())) return;
  const h = request.headers;
  if (h.get("authorization")) return;
  if (!h.get("cookie")) return;
  const site = h.get("sec-fetch-site");
  if (site && site !== "same-origin" && site !== "none") {
    throw new ForbiddenError(`Cross-site request refused (Sec-Fetch-Site: ${site}). Use the app itself, or an API key.`);
  }
  const origin = h.get("origin");
  if (origin) {
    let host: string | null = null;
    try {
      host = origin === "null" ? null : new URL(origin).host.toLowerCase();
    } catch {
      host = null;
    }
    if (!host || !ownHosts(h, request.url, publicUrl).has(host)) {
      throw new ForbiddenError(`Cross-site request refused (Origin ${origin} is not this site). Use the app itself, or an API key.`);
    }
  }
}
