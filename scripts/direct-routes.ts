// The hottest agent routes served by the web process (scripts/serve.ts) without Next.js's request
// pipeline: the very same route handler (the route file's exported GET/PUT/DELETE, built with route() in
// lib/http/route.ts, so authentication, rate limits, parsing, errors and logs are unchanged) is called
// with a standard Request, and its Response written in one piece with the security headers every answer
// carries (next.config.ts). Next.js's routing, rewrites, instrumented fetch, per-request async storage
// and response streaming cost the web process more CPU than a cubby read itself (docs/benchmarks.md,
// "Cubbies"). Anything that is not exactly such a path and method goes to Next.js as before (a trailing
// slash, an undecodable segment, HEAD, OPTIONS, other methods), so those answers do not change.
//
// Answers here are not compressed: they are small JSON for programs, and nginx in front may compress.
//
// Two copies of the same code in one process. `load` imports the route module through tsx (this script's
// loader), so the web process holds lib/ twice: once inside Next.js's bundle (every other route) and once
// here. That works ONLY because every process-wide singleton those modules keep lives on globalThis under
// a Symbol.for key (the database pool in lib/db/client.ts, the KES client in lib/kes/client.ts, the
// rate-limit store, the usage writers, KES's audit writers…): the second copy finds the first's instead of
// opening its own. A singleton kept in a plain module variable would silently split in two here (a second
// pool, a second group-commit writer). tests/integration/direct-routes-singletons.test.ts loads the modules
// twice and checks that both copies share one pool and one KES client; keep new singletons on globalThis.
import type { IncomingMessage, ServerResponse } from "node:http";
import { Readable } from "node:stream";
import { SECURITY_HEADERS } from "../lib/http/security-headers";

type Handler = (request: Request, context: { params: Promise<Record<string, string>> }) => Promise<Response>;
type RouteModule = Partial<Record<"GET" | "PUT" | "DELETE" | "POST" | "PATCH", Handler>>;

interface DirectRoute {
  /** The path, with one capture group per parameter (each one path segment). */
  pattern: RegExp;
  params: string[];
  load: () => Promise<RouteModule>;
}

export const DIRECT_ROUTES: DirectRoute[] = [
  {
    pattern: /^\/api\/cubbies\/([^/]+)\/items\/([^/]+)$/,
    params: ["name", "key"],
    load: () => import("../app/api/cubbies/[name]/items/[key]/route"),
  },
];

const METHODS = new Set(["GET", "PUT", "DELETE", "POST", "PATCH"]);

/** The route and its decoded parameters for a request line, or null: Next.js answers it. */
export function matchDirect(method: string | undefined, url: string | undefined): { route: DirectRoute; params: Record<string, string> } | null {
  if (!method || !METHODS.has(method) || !url) return null;
  const q = url.indexOf("?");
  const path = q < 0 ? url : url.slice(0, q);
  for (const route of DIRECT_ROUTES) {
    const m = route.pattern.exec(path);
    if (!m) continue;
    const params: Record<string, string> = {};
    try {
      route.params.forEach((name, i) => (params[name] = decodeURIComponent(m[i + 1]!)));
    } catch {
      return null; // malformed percent-encoding: Next.js answers as it always did
    }
    return { route, params };
  }
  return null;
}

const modules = new Map<DirectRoute, Promise<RouteModule>>();

/**
 * Serves the request when it is a direct route whose file exports its method; false otherwise (the
 * caller hands it to Next.js).
 */
export async function serveDirect(req: IncomingMessage, res: ServerResponse): Promise<boolean> {
  const match = matchDirect(req.method, req.url);
  if (!match) return false;
  let mod = modules.get(match.route);
  if (!mod) modules.set(match.route, (mod = match.route.load()));
  const handler = (await mod)[req.method as keyof RouteModule];
  if (!handler) return false;

  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined) continue;
    if (Array.isArray(value)) for (const v of value) headers.append(name, v);
    else headers.set(name, value);
  }
  const hasBody = req.method !== "GET" && req.method !== "DELETE";
  let request: Request;
  try {
    request = new Request(`http://${req.headers.host ?? "localhost"}${req.url}`, {
      method: req.method,
      headers,
      ...(hasBody ? { body: Readable.toWeb(req) as ReadableStream<Uint8Array>, duplex: "half" } : {}),
    } as RequestInit);
  } catch {
    return false; // a Host header that makes no URL: Next.js answers as it always did
  }

  const response = await handler(request, { params: Promise.resolve(match.params) });
  const body = Buffer.from(await response.arrayBuffer());
  res.statusCode = response.status;
  for (const { key, value } of SECURITY_HEADERS) res.setHeader(key, value);
  response.headers.forEach((value, key) => {
    if (key !== "set-cookie") res.setHeader(key, value);
  });
  const cookies = response.headers.getSetCookie();
  if (cookies.length) res.setHeader("set-cookie", cookies);
  res.setHeader("content-length", body.length);
  res.end(body);
  return true;
}
