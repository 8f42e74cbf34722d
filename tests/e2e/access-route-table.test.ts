// The route table: EVERY route file under app/ (app/api, the OpenAI-compatible app/v1, app/.well-known)
// is discovered at test time and called, for each
// method, without credentials, as a signed-in viewer, with a key lacking the scope and with a key for
// another collection; each must get the right refusal. A route file without an entry in ROUTES fails
// this test: whoever adds a route states here who may call it (and how its collection boundary is
// checked). Also: unknown routes and methods answer JSON 404/405, hostile ids and search text never
// cause a 500, and /api/metrics reports request latency by route pattern.
import { randomUUID } from "node:crypto";
import { readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Permission } from "@/lib/auth/roles";
import { startApp, type RunningApp } from "../helpers/app";
import { makeApiKey, makeUser, type TestUser } from "../helpers/auth";

/** "mcp": the MCP server answers anonymous callers 401 with WWW-Authenticate resource_metadata itself, and checks each tool's scope (tests/e2e/mcp-server.test.ts). */
type Access = Permission | "public" | "signature" | "nextauth" | "notfound" | "mcp";
type Method = "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
const METHODS: Method[] = ["GET", "POST", "PUT", "PATCH", "DELETE"];

/** How a route keeps a key restricted to collection B away from collection A. */
type CollectionCheck =
  | "none" // the route is not about wiki content of a collection
  | { method: Method; path: (w: World) => string; body?: (w: World) => unknown; expect: "refused" } // 403/404
  | { method: Method; path: (w: World) => string; expect: "excludes" }; // 200 without A's ids

interface Entry {
  methods: Partial<Record<Method, Access>>;
  collection: CollectionCheck;
}

interface World {
  collectionA: string;
  slugA: string;
  collectionB: string;
  sourceA: string;
}

// Expected access per route (path under app/api as in the file system; routes elsewhere under app/ by
// their URL path, starting with "/"). Keep it in sync by hand:
// it is the statement of who may do what, checked against the running app.
const ROUTES: Record<string, Entry> = {
  "[...path]": { methods: { GET: "notfound", POST: "notfound", PUT: "notfound", PATCH: "notfound", DELETE: "notfound" }, collection: "none" },
  "auth/[...nextauth]": { methods: { GET: "nextauth", POST: "nextauth" }, collection: "none" },
  health: { methods: { GET: "public" }, collection: "none" },
  setup: { methods: { POST: "public" }, collection: "none" },
  metrics: { methods: { GET: "admin" }, collection: "none" },
  "notion/webhook": { methods: { POST: "signature" }, collection: "none" },

  evaluate: {
    methods: { POST: "ask" },
    collection: { method: "POST", path: () => "/api/evaluate", body: (w) => ({ question: "salary bands?", collections: [w.collectionA], stream: false }), expect: "refused" },
  },
  "evaluate/score": { methods: { POST: "score" }, collection: "none" },
  conversations: { methods: { GET: "ask", POST: "ask" }, collection: "none" },
  "conversations/[id]": { methods: { GET: "ask", DELETE: "ask" }, collection: "none" },
  feedback: { methods: { POST: "ask", GET: "admin" }, collection: "none" },

  sources: { methods: { GET: "import", POST: "admin" }, collection: { method: "GET", path: () => "/api/sources", expect: "excludes" } },
  "sources/[id]/webhook-token": {
    methods: { GET: "admin", POST: "admin", DELETE: "admin" },
    collection: { method: "GET", path: (w) => `/api/sources/${w.sourceA}/webhook-token`, expect: "refused" },
  },
  import: { methods: { POST: "import" }, collection: { method: "POST", path: () => "/api/import", body: (w) => ({ sourceId: w.sourceA }), expect: "refused" } },
  "import/[id]": { methods: { GET: "import" }, collection: "none" },
  "import/upload": {
    methods: { POST: "import" },
    collection: { method: "POST", path: (w) => `/api/import/upload?collectionId=${w.collectionA}`, expect: "refused" },
  },

  annotations: { methods: { POST: "score" }, collection: "none" },
  "annotations/agreement": { methods: { GET: "score" }, collection: "none" },
  "annotations/next": { methods: { GET: "score" }, collection: "none" },
  "annotations/skip": { methods: { POST: "score" }, collection: "none" },
  datasets: { methods: { GET: "score", POST: "score" }, collection: "none" },
  "datasets/import": { methods: { POST: "score" }, collection: "none" },
  "datasets/[id]": { methods: { GET: "score", PATCH: "score" }, collection: "none" },
  "datasets/[id]/export": { methods: { GET: "score" }, collection: "none" },
  "datasets/[id]/items": { methods: { POST: "score" }, collection: "none" },
  runs: { methods: { GET: "score", POST: "score" }, collection: "none" },
  "runs/[id]": { methods: { GET: "score" }, collection: "none" },
  "runs/trend": { methods: { GET: "score" }, collection: "none" },

  schedules: { methods: { GET: "admin", POST: "admin" }, collection: "none" },
  "schedules/[id]": { methods: { GET: "admin", PATCH: "admin", DELETE: "admin" }, collection: "none" },
  "schedules/[id]/disable": { methods: { POST: "admin" }, collection: "none" },
  "schedules/[id]/enable": { methods: { POST: "admin" }, collection: "none" },
  "schedules/[id]/history": { methods: { GET: "admin" }, collection: "none" },
  "schedules/[id]/run-now": { methods: { POST: "admin" }, collection: "none" },
  backups: { methods: { GET: "admin", POST: "admin" }, collection: "none" },
  "backups/[id]": { methods: { GET: "admin" }, collection: "none" },

  "admin/users": { methods: { GET: "admin", POST: "admin" }, collection: "none" },
  "admin/users/[id]": { methods: { PATCH: "admin" }, collection: "none" },
  "admin/keys": {
    methods: { GET: "admin", POST: "admin" },
    collection: { method: "POST", path: () => "/api/admin/keys", body: (w) => ({ name: "widen", scopes: ["admin"], collectionIds: [w.collectionA] }), expect: "refused" },
  },
  "admin/keys/[id]": { methods: { DELETE: "admin" }, collection: "none" },
  "admin/audit": { methods: { GET: "admin" }, collection: "none" },
  "admin/collections": { methods: { GET: "admin", POST: "admin" }, collection: "none" },
  "admin/collections/[id]": { methods: { PATCH: "admin" }, collection: "none" },
  "admin/collections/[id]/members": { methods: { PUT: "admin" }, collection: "none" },

  // The caller's own keys (the Connect page): a key can be limited only to collections its creator reads.
  keys: {
    methods: { GET: "ask", POST: "ask" },
    collection: { method: "POST", path: () => "/api/keys", body: (w) => ({ name: "widen", scopes: ["ask"], collectionIds: [w.collectionA] }), expect: "refused" },
  },
  "keys/[id]": { methods: { DELETE: "ask" }, collection: "none" },

  // MCP: collections are tool arguments; an unreadable one is an in-band tool error (mcp-server.test.ts).
  mcp: { methods: { POST: "mcp" }, collection: "none" },
  "/.well-known/oauth-protected-resource/api/mcp": { methods: { GET: "public" }, collection: "none" },

  // The OpenAI-compatible API: models are collections.
  "/v1/[...path]": { methods: { GET: "notfound", POST: "notfound", PUT: "notfound", PATCH: "notfound", DELETE: "notfound" }, collection: "none" },
  "/v1/models": { methods: { GET: "ask" }, collection: { method: "GET", path: () => "/v1/models", expect: "excludes" } },
  "/v1/models/[model]": { methods: { GET: "ask" }, collection: { method: "GET", path: (w) => `/v1/models/${w.slugA}`, expect: "refused" } },
  "/v1/chat/completions": {
    methods: { POST: "ask" },
    collection: {
      method: "POST",
      path: () => "/v1/chat/completions",
      body: (w) => ({ model: w.slugA, messages: [{ role: "user", content: "salary bands?" }] }),
      expect: "refused",
    },
  },
  "/v1/embeddings": { methods: { POST: "ask" }, collection: "none" },
};

const ROOT = path.resolve(import.meta.dirname, "..", "..");
const APP = path.join(ROOT, "app");
const API = path.join(APP, "api");

/** A route's name in ROUTES: its path under app/api, or "/" + its URL path for routes elsewhere under app/. */
function routeName(dir: string): string {
  const rel = (from: string) => path.relative(from, dir).split(path.sep).join("/");
  if (dir === API || dir.startsWith(API + path.sep)) return rel(API);
  // Route groups ("(app)") are not part of the URL.
  return "/" + rel(APP).split("/").filter((s) => !/^\(.*\)$/.test(s)).join("/");
}

/** Every route file under app/ with the HTTP methods it exports. */
function discoverRoutes(): Array<{ route: string; methods: Method[] }> {
  const out: Array<{ route: string; methods: Method[] }> = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const full = path.join(dir, name);
      if (statSync(full).isDirectory()) walk(full);
      else if (/^route\.(ts|tsx|js)$/.test(name)) {
        const src = readFileSync(full, "utf8");
        const found = new Set<Method>();
        for (const m of src.matchAll(/export\s+(?:const|async\s+function|function)\s+(GET|POST|PUT|PATCH|DELETE)\b/g)) found.add(m[1] as Method);
        for (const m of src.matchAll(/\bas\s+(GET|POST|PUT|PATCH|DELETE)\b/g)) found.add(m[1] as Method);
        out.push({ route: routeName(dir), methods: [...found] });
      }
    }
  };
  walk(APP);
  return out.sort((a, b) => a.route.localeCompare(b.route));
}

/** A concrete URL for a route pattern: ids become random UUIDs, catch-alls a word. */
function concrete(route: string, id: string = randomUUID()): string {
  return (route.startsWith("/") ? "" : "/api/") + route.replace(/\[\.\.\.[^\]]+\]/g, "nothing-here").replace(/\[[^\]]+\]/g, id);
}

/** The URL path of a route, as the messages below name it. */
const shown = (route: string) => (route.startsWith("/") ? route : `/api/${route}`);
/** Error codes of a 401 and of an unknown path: the project's own, or the OpenAI-compatible API's. */
const UNAUTHORIZED = ["unauthorized", "invalid_api_key"];

describe("route table (every app/api route, every method, every kind of caller)", () => {
  let app: RunningApp;
  let world: World;
  let viewerCookie: string;
  let admin: TestUser;
  const routes = discoverRoutes();

  async function call(method: string, url: string, headers: Record<string, string> = {}, body?: unknown) {
    const res = await fetch(app.baseUrl + url, {
      method,
      redirect: "manual",
      headers: { ...(method !== "GET" ? { "content-type": "application/json" } : {}), ...headers },
      body: method === "GET" ? undefined : JSON.stringify(body ?? {}),
    });
    const text = await res.text();
    let json: any = null;
    try {
      json = JSON.parse(text);
    } catch {
      /* not JSON */
    }
    return { status: res.status, json, text, headers: res.headers };
  }

  /** Signs in through next-auth's real credentials flow and returns the session cookie. */
  async function signInCookie(user: TestUser): Promise<string> {
    const csrf = await fetch(`${app.baseUrl}/api/auth/csrf`);
    const { csrfToken } = await csrf.json();
    const csrfCookie = csrf.headers.getSetCookie().map((c) => c.split(";")[0]).join("; ");
    const res = await fetch(`${app.baseUrl}/api/auth/callback/credentials`, {
      method: "POST",
      redirect: "manual",
      headers: { "content-type": "application/x-www-form-urlencoded", cookie: csrfCookie },
      body: new URLSearchParams({ csrfToken, email: user.email, password: user.password, json: "true" }),
    });
    const session = res.headers.getSetCookie().find((c) => c.startsWith("next-auth.session-token="));
    if (!session) throw new Error(`sign-in failed (${res.status})`);
    return session.split(";")[0]!;
  }

  beforeAll(async () => {
    app = await startApp({
      env: {
        RATE_LIMIT_BURST: "100000",
        RATE_LIMIT_PER_MINUTE: "100000",
        RATE_LIMIT_ANONYMOUS_BURST: "100000",
        RATE_LIMIT_ANONYMOUS_PER_MINUTE: "100000",
        METRICS_TOKEN: "metrics-token-for-tests-0123456789",
      },
    });
    const db = app.db!;
    admin = await makeUser(db, "admin");
    const viewer = await makeUser(db, "viewer");
    viewerCookie = await signInCookie(viewer);
    const a = await db.prisma.collection.create({ data: { slug: "route-table-a", name: "A", restricted: true } });
    const b = await db.prisma.collection.create({ data: { slug: "route-table-b", name: "B" } });
    const source = await db.prisma.source.create({ data: { collectionId: a.id, kind: "upload", name: "A uploads" } });
    world = { collectionA: a.id, slugA: a.slug, collectionB: b.id, sourceA: source.id };
  });
  afterAll(async () => {
    await app?.stop();
  });

  it("has an entry for every route file and every exported method", () => {
    const missing: string[] = [];
    for (const r of routes) {
      const entry = ROUTES[r.route];
      if (!entry) {
        missing.push(`${r.route} (no entry)`);
        continue;
      }
      for (const m of r.methods) if (!entry.methods[m]) missing.push(`${m} ${r.route}`);
      for (const m of Object.keys(entry.methods) as Method[]) if (!r.methods.includes(m)) missing.push(`${m} ${r.route} is in the table but not exported`);
    }
    expect(missing, "add these to ROUTES in tests/e2e/access-route-table.test.ts").toEqual([]);
    expect(routes.length).toBeGreaterThan(10);
  });

  it("refuses callers without credentials, viewers, keys without the scope and keys for another collection", async () => {
    const db = app.db!;
    const problems: string[] = [];
    const keyWithout = new Map<Permission, Record<string, string>>();
    const keyOnlyB = new Map<Permission, Record<string, string>>();
    const all: Permission[] = ["ask", "score", "import", "admin"];
    for (const p of all) {
      keyWithout.set(p, (await makeApiKey(db, all.filter((s) => s !== p), { creator: admin })).headers);
      // An admin key administers everything, so it cannot be limited to a collection (refused when created).
      if (p !== "admin") keyOnlyB.set(p, (await makeApiKey(db, [p], { creator: admin, collectionIds: [world.collectionB] })).headers);
    }
    await expect(makeApiKey(db, ["admin"], { creator: admin, collectionIds: [world.collectionB] })).rejects.toMatchObject({ status: 400 });
    const check = (ok: boolean, what: string) => {
      if (!ok) problems.push(what);
    };
    for (const r of routes) {
      const entry = ROUTES[r.route];
      if (!entry) continue;
      for (const method of r.methods) {
        const access = entry.methods[method];
        if (!access || access === "nextauth") continue;
        const url = concrete(r.route);
        const label = `${method} ${shown(r.route)}`;
        if (access === "notfound") {
          const res = await call(method, url);
          check(res.status === 404 && res.json?.error?.code === "not_found", `${label}: unknown path → ${res.status}, want JSON 404`);
          continue;
        }
        const anon = await call(method, url);
        if (access === "mcp") {
          check(anon.status === 401 && /resource_metadata="[^"]+"/.test(anon.headers.get("www-authenticate") ?? ""), `${label}: anonymous got ${anon.status} without resource_metadata, want 401 with it`);
          const viewer = await call(method, url, { cookie: viewerCookie });
          check(viewer.status !== 401 && viewer.status !== 403, `${label}: a signed-in viewer got ${viewer.status}`);
          continue;
        }
        if (access === "public") {
          check(anon.status !== 401 && anon.status !== 403 && anon.status < 500, `${label}: public but anonymous got ${anon.status}`);
          continue;
        }
        if (access === "signature") {
          check([400, 401, 403].includes(anon.status), `${label}: unsigned request got ${anon.status}, want 400/401/403`);
          continue;
        }
        check(anon.status === 401 && UNAUTHORIZED.includes(anon.json?.error?.code), `${label}: anonymous got ${anon.status}, want JSON 401`);
        const viewer = await call(method, url, { cookie: viewerCookie });
        if (access === "ask") check(viewer.status !== 401 && viewer.status !== 403, `${label}: viewer refused (${viewer.status}) although it needs only "ask"`);
        else check(viewer.status === 403 && viewer.json?.error?.code === "forbidden", `${label}: viewer got ${viewer.status}, want 403`);
        const without = await call(method, url, keyWithout.get(access)!);
        check(without.status === 403, `${label}: key without "${access}" got ${without.status}, want 403`);
        if (access === "admin") continue;
        const onlyB = await call(method, url, keyOnlyB.get(access)!);
        check(onlyB.status !== 401 && onlyB.status !== 403, `${label}: a key with "${access}" for another collection is refused outright (${onlyB.status})`);
      }
      // The collection boundary, with a key that has the right scope but only for collection B.
      if (entry.collection !== "none" && entry.methods[entry.collection.method] !== "admin") {
        const probe = entry.collection;
        const access = entry.methods[probe.method] as Permission;
        const headers = keyOnlyB.get(access)!;
        const res = await call(probe.method, probe.path(world), headers, "body" in probe && probe.body ? probe.body(world) : undefined);
        const label = `${probe.method} ${probe.path(world)} (key for collection B)`;
        if (probe.expect === "refused") check(res.status === 403 || res.status === 404, `${label}: got ${res.status}, want 403/404`);
        else {
          const leaks = [world.collectionA, world.sourceA, `"${world.slugA}"`].some((x) => res.text.includes(x));
          check(res.status === 200 && !leaks, `${label}: got ${res.status} or A's ids in the answer`);
        }
      }
    }
    expect(problems).toEqual([]);
  });

  it("answers unknown routes and methods with JSON 404/405", async () => {
    for (const method of METHODS) {
      const res = await call(method, "/api/no/such/route");
      expect(res.status, method).toBe(404);
      expect(res.json.error.code).toBe("not_found");
    }
    const problems: string[] = [];
    for (const r of routes) {
      if (r.route.endsWith("[...path]")) continue;
      for (const method of METHODS.filter((m) => !r.methods.includes(m))) {
        const res = await call(method, concrete(r.route));
        // Under /api and /v1 every answer is JSON; elsewhere (/.well-known) Next's own 405 is enough.
        const json = !r.route.startsWith("/") || r.route.startsWith("/v1/");
        if (res.status !== 405 || (json && res.json?.error?.code !== "method_not_allowed")) problems.push(`${method} ${shown(r.route)} → ${res.status} ${res.text.slice(0, 80)}`);
      }
    }
    expect(problems).toEqual([]);
  });

  it("never answers hostile ids, search text or bodies with a 500, and names the bad field", async () => {
    const admin = (await makeApiKey(app.db!, ["ask", "score", "import", "admin"], { creator: await makeUser(app.db!, "admin") })).headers;
    const hostileIds = ["..%2F..%2Fetc%2Fpasswd", "1'%20OR%20'1'%3D'1", "%00", "-1", "9".repeat(400)];
    const problems: string[] = [];
    for (const r of routes) {
      const entry = ROUTES[r.route];
      if (!entry || r.route.includes("nextauth")) continue;
      for (const method of r.methods) {
        const urls = r.route.includes("[") && !r.route.includes("[...") ? hostileIds.map((id) => concrete(r.route, id)) : [concrete(r.route)];
        for (const url of urls) {
          const withQuery = `${url}${url.includes("?") ? "&" : "?"}q=${encodeURIComponent("'; DROP TABLE chunks; --")}`;
          for (const body of [{}, { question: "' OR 1=1 --", name: "../../etc/passwd", id: "x" }, []]) {
            const res = await call(method, withQuery, admin, body);
            if (res.status >= 500) problems.push(`${method} ${withQuery} → ${res.status}`);
            else if (res.status === 400 && !res.json?.error?.message) problems.push(`${method} ${withQuery} → 400 without a message`);
          }
        }
      }
    }
    expect(problems).toEqual([]);
    expect(await app.db!.prisma.chunk.count()).toBeGreaterThanOrEqual(0); // the table is still there
  });

  it("limits password guessing per e-mail address, refused like a wrong password, other people unaffected", async () => {
    const victim = await makeUser(app.db!, "viewer");
    for (let i = 0; i < 10; i++) await expect(signInCookie({ ...victim, password: "wrong-password-x" })).rejects.toThrow(/sign-in failed/);
    await expect(signInCookie(victim)).rejects.toThrow(/sign-in failed/);
    const other = await makeUser(app.db!, "viewer");
    await expect(signInCookie(other)).resolves.toMatch(/^next-auth\.session-token=/);
  });

  it("serves Prometheus metrics to the token or an admin, with latency by route pattern", async () => {
    expect((await call("GET", "/api/metrics")).status).toBe(401);
    expect((await call("GET", "/api/metrics", { cookie: viewerCookie })).status).toBe(403);
    expect((await call("GET", "/api/metrics", { authorization: "Bearer wrong-token-wrong-token-000" })).status).toBe(401);
    const res = await call("GET", "/api/metrics", { authorization: "Bearer metrics-token-for-tests-0123456789" });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(res.text).toMatch(/sot_http_request_duration_seconds_count\{method="PATCH",route="\/api\/admin\/users\/\[id\]",status="401"\} \d+/);
    expect(res.text).toMatch(/sot_http_request_duration_seconds_count\{method="GET",route="\/api\/\[\.\.\.path\]",status="404"\} \d+/);
    // Concrete ids never become labels.
    expect(res.text).not.toMatch(/route="[^"]*[0-9a-f]{8}-[0-9a-f]{4}-/);
    expect(res.text).toContain("# TYPE sot_queue_depth gauge");
    const adminKey = (await makeApiKey(app.db!, ["admin"], { creator: admin })).headers;
    expect((await call("GET", "/api/metrics", adminKey)).status).toBe(200);
  });
});
