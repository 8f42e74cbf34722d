// The route table: EVERY route file under app/ is discovered at test time and called, for each method,
// without credentials, as a signed-in viewer, with a key lacking the scope and with a key for another
// collection; each must get the right refusal. The expectations are the one table of who may do what
// (tests/helpers/access-matrix.ts): a route file without an entry there fails this test, and the README's
// matrix, rendered from the same table, must match it. Also: unknown routes and methods answer JSON
// 404/405, hostile ids and search text never cause a 500, and /api/metrics reports request latency by
// route pattern.
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Permission } from "@/lib/auth/roles";
import { MATRIX_END, MATRIX_START, readmeMatrix, renderMatrix, ROUTES, type World } from "@/tests/helpers/access-matrix";
import { discoverRoutes, METHODS } from "@/tests/helpers/app-surface";
import { startApp, type RunningApp } from "@/tests/helpers/app";
import { makeApiKey, makeUser, type TestUser } from "@/tests/helpers/auth";
import * as make from "@/tests/helpers/factories";
import { signInCookie, userCaller, type Caller } from "@/tests/helpers/http";

/** A concrete URL for a route pattern: ids become random UUIDs, catch-alls a word. */
function concrete(pattern: string, id: string = randomUUID()): string {
  return pattern.replace(/\[\[?\.\.\.[^\]]+\]\]?/g, "nothing-here").replace(/\[[^\]]+\]/g, id);
}

describe("the README's who-may-do-what matrix", () => {
  it("is the route table, rendered", () => {
    const inReadme = readmeMatrix();
    expect(inReadme, `README.md needs a block between ${MATRIX_START} and ${MATRIX_END}`).not.toBeNull();
    expect(inReadme, "the README's matrix differs from tests/helpers/access-matrix.ts: run `bash scripts/run.sh tsx tests/helpers/access-matrix.ts --write`").toBe(
      renderMatrix(),
    );
  });
});

describe("route table (every route file, every method, every kind of caller)", () => {
  let app: RunningApp;
  let world: World;
  let viewerCookie: string;
  let admin: TestUser;
  let adminSession: Caller;
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

  beforeAll(async () => {
    app = await startApp({ env: { RATE_LIMIT_BURST: "100000", RATE_LIMIT_PER_MINUTE: "100000", RATE_LIMIT_ANONYMOUS_BURST: "100000", RATE_LIMIT_ANONYMOUS_PER_MINUTE: "100000", METRICS_TOKEN: "metrics-token-for-tests-0123456789" } });
    const api: make.Api = { baseUrl: app.baseUrl, db: app.db! };
    admin = await makeUser(app.db!, "admin");
    adminSession = await userCaller(app.baseUrl, "admin", admin);
    viewerCookie = await signInCookie(app.baseUrl, await makeUser(app.db!, "viewer"));
    const collectionA = await make.collection(api, adminSession, { name: "A", restricted: true });
    const collectionB = await make.collection(api, adminSession, { name: "B", restricted: false });
    const page = await make.uploadedPage(api, adminSession, collectionA, { name: "salary-bands.md", markdown: "# Salary bands\n\nBand 3 starts at 50k.\n" });
    const dataset = await make.dataset(api, adminSession, { name: "A's questions", collectionIds: [collectionA], items: [{ question: "Where does band 3 start?" }] });
    const run = await call("POST", "/api/runs", adminSession.headers, { datasetId: dataset.id });
    if (run.status !== 202) throw new Error(`starting a run: ${run.status} ${run.text}\n${app.output().slice(-3000)}`);
    const adminConversation = await make.conversation(api, adminSession, "the admin's own", [collectionA]);
    const slugA = (await app.db!.prisma.collection.findUniqueOrThrow({ where: { id: collectionA } })).slug;
    world = { collectionA, slugA, collectionB, sourceA: page.sourceId, datasetA: dataset.id, runA: run.json.id, adminConversation };
  });
  afterAll(async () => {
    await app?.stop();
  });

  it("has an entry for every route file and every exported method", () => {
    const missing: string[] = [];
    for (const r of routes) {
      const entry = ROUTES[r.pattern];
      if (!entry) {
        missing.push(`${r.pattern} (no entry)`);
        continue;
      }
      for (const m of r.methods) if (!entry.methods[m]) missing.push(`${m} ${r.pattern}`);
      for (const m of METHODS) if (entry.methods[m] && !r.methods.includes(m)) missing.push(`${m} ${r.pattern} is in the table but not exported`);
    }
    for (const pattern of Object.keys(ROUTES)) if (!routes.some((r) => r.pattern === pattern)) missing.push(`${pattern} is in the table but has no route file`);
    expect(missing, "add these to ROUTES in tests/helpers/access-matrix.ts").toEqual([]);
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
      // An admin-scoped key cannot be limited to collections: the admin scope is probed unrestricted.
      keyOnlyB.set(p, (await makeApiKey(db, [p], { creator: admin, collectionIds: p === "admin" ? undefined : [world.collectionB] })).headers);
    }
    await expect(makeApiKey(db, ["admin"], { creator: admin, collectionIds: [world.collectionB] })).rejects.toMatchObject({ status: 400 });
    // An agent with a token; and a key with every scope (agent routes are for agents only).
    const agentToken = (await make.agent({ baseUrl: app.baseUrl, db }, adminSession, "route-table-agent")).caller.headers;
    const keyAll = (await makeApiKey(db, all, { creator: admin })).headers;
    const check = (ok: boolean, what: string) => {
      if (!ok) problems.push(what);
    };
    const aIds = Object.entries(world).filter(([k]) => k !== "collectionB").map(([k, v]) => (k === "slugA" ? `"${v}"` : v));
    for (const r of routes) {
      const entry = ROUTES[r.pattern];
      if (!entry) continue;
      for (const method of r.methods) {
        const access = entry.methods[method];
        if (!access || access === "nextauth") continue;
        const url = concrete(r.pattern);
        const label = `${method} ${r.pattern}`;
        if (access === "notfound") {
          const res = await call(method, url);
          check(res.status === 404 && ["not_found"].includes(res.json?.error?.code), `${label}: unknown path → ${res.status}, want JSON 404`);
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
        check(anon.status === 401 && ["unauthorized", "invalid_api_key"].includes(anon.json?.error?.code), `${label}: anonymous got ${anon.status}, want JSON 401`);
        if (access === "agent") {
          for (const [who, headers] of [["a signed-in admin", adminSession.headers], ["a key with every scope", keyAll]] as const) {
            const res = await call(method, url, headers);
            check(res.status === 403, `${label}: ${who} got ${res.status}, want 403 (agents only)`);
          }
          const asAgent = await call(method, url, agentToken);
          check(asAgent.status !== 401 && asAgent.status !== 403 && asAgent.status < 500, `${label}: an agent token got ${asAgent.status}`);
          continue;
        }
        // Agents hold no permission of people or keys.
        const agentRes = await call(method, url, agentToken);
        check(agentRes.status === 403, `${label}: an agent token got ${agentRes.status}, want 403`);
        const viewer = await call(method, url, { cookie: viewerCookie });
        if (access === "ask") check(viewer.status !== 401 && viewer.status !== 403, `${label}: viewer refused (${viewer.status}) although it needs only "ask"`);
        else check(viewer.status === 403 && viewer.json?.error?.code === "forbidden", `${label}: viewer got ${viewer.status}, want 403`);
        const without = await call(method, url, keyWithout.get(access)!);
        check(without.status === 403, `${label}: key without "${access}" got ${without.status}, want 403`);
        const onlyB = await call(method, url, keyOnlyB.get(access)!);
        check(onlyB.status !== 401 && onlyB.status !== 403, `${label}: a key with "${access}" for another collection is refused outright (${onlyB.status})`);
      }
      // The boundary, probed with a key that has the right scope but only for collection B (or as an admin).
      for (const probe of entry.probes ?? []) {
        const access = entry.methods[probe.method] as Permission;
        const headers = probe.as === "admin" ? adminSession.headers : keyOnlyB.get(access)!;
        const res = await call(probe.method, probe.path(world), headers, probe.body?.(world));
        const label = `${probe.method} ${probe.path(world)} (${probe.as === "admin" ? "admin" : `key with "${access}" for collection B`})`;
        if (probe.expect === "refused") {
          const want = probe.statuses ?? [403, 404];
          check(want.includes(res.status), `${label}: got ${res.status}, want ${want.join("/")}: ${res.text.slice(0, 200)}`);
        } else {
          const seen = aIds.filter((id) => res.text.includes(id));
          check(res.status === 200 && seen.length === 0, `${label}: got ${res.status}${seen.length ? `, with A's ids ${seen.join(", ")}` : ""}`);
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
      if (r.pattern.endsWith("[...path]")) continue;
      for (const method of METHODS.filter((m) => !r.methods.includes(m))) {
        const res = await call(method, concrete(r.pattern));
        // Under /api and /v1 every answer is JSON; elsewhere (/.well-known) Next's own 405 is enough.
        const json = r.pattern.startsWith("/api/") || r.pattern.startsWith("/v1/");
        if (res.status !== 405 || (json && res.json?.error?.code !== "method_not_allowed")) problems.push(`${method} ${r.pattern} → ${res.status} ${res.text.slice(0, 80)}`);
      }
    }
    expect(problems).toEqual([]);
  });

  it("never answers hostile ids, search text or bodies with a 500, and names the bad field", async () => {
    const admin = (await makeApiKey(app.db!, ["ask", "score", "import", "admin"], { creator: await makeUser(app.db!, "admin") })).headers;
    const hostileIds = ["..%2F..%2Fetc%2Fpasswd", "1'%20OR%20'1'%3D'1", "%00", "-1", "9".repeat(400)];
    const problems: string[] = [];
    for (const r of routes) {
      const entry = ROUTES[r.pattern];
      if (!entry || r.pattern.includes("nextauth")) continue;
      for (const method of r.methods) {
        const urls = r.pattern.includes("[") && !r.pattern.includes("[...") ? hostileIds.map((id) => concrete(r.pattern, id)) : [concrete(r.pattern)];
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
    for (let i = 0; i < 10; i++) await expect(signInCookie(app.baseUrl, { ...victim, password: "wrong-password-x" })).rejects.toThrow(/sign-in failed/);
    await expect(signInCookie(app.baseUrl, victim)).rejects.toThrow(/sign-in failed/);
    const other = await makeUser(app.db!, "viewer");
    await expect(signInCookie(app.baseUrl, other)).resolves.toMatch(/^next-auth\.session-token=/);
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
