// What access control costs per request, on PostgreSQL. First and foremost: the access check of the ask
// path — building the caller's access context (lib/auth/principal.ts resolvePrincipal, then
// lib/access/context.ts accessContextFor) — p50/p95 for a session cookie and for an API key, and its
// share of a whole POST /api/evaluate (the real route, JSON form, against the fake Ollama answering at
// once, so the figure is the app's own work). Then the route wrapper on a trivial handler, password
// hashing at sign-in, and rendering /api/metrics over a large query log. Prints figures; asserts nothing.
//   npm run bench:access        (BENCH_DATABASE_URL / TEST_DATABASE_URL, default local PostgreSQL)
//   BENCH_N (default 2000): access checks and wrapper calls per form; BENCH_ASKS (default 200): asks per form
import { randomBytes } from "node:crypto";
import { encode } from "next-auth/jwt";
import { z } from "zod";
import { POST as evaluateRoute } from "@/app/api/evaluate/route";
import { accessContextFor } from "@/lib/access/context";
import { createApiKey } from "@/lib/auth/api-keys";
import { hashPassword, verifyPassword } from "@/lib/auth/passwords";
import { resolvePrincipal } from "@/lib/auth/principal";
import { createUser } from "@/lib/auth/users";
import { resetConfig } from "@/lib/config";
import { setDb, type Db } from "@/lib/db/client";
import { route } from "@/lib/http/route";
import { resetLlm } from "@/lib/llm";
import { renderMetrics } from "@/lib/metrics";
import { DEFAULT_FAKE_MODELS, startFakeOllama } from "@/tests/fakes/ollama";
import { loadAverage, machine, percentile, scratchDb } from "./lib";
import { loadSynthetic, SYNTHETIC_EMBED_MODEL } from "./synthetic";

/** $1 answered questions, one a second back in time from now (a long history of which the last hour counts). */
const INSERT_QUERY_LOG_HISTORY = `INSERT INTO query_logs (question_sha256, model, prompt_tokens, completion_tokens, timings, status, created_at)
  SELECT md5(g::text), 'llama3.3:70b-instruct-q4_K_M', 1500, 200,
         jsonb_build_object('totalMs', 1000 + g % 4000, 'firstTokenMs', 300 + g % 900, 'retrieveMs', 20 + g % 80), 'ok',
         now() - g * interval '1 second'
    FROM generate_series(1, $1::int) g`;

process.env.AUTH_SECRET ??= randomBytes(32).toString("hex");
process.env.RATE_LIMIT_BURST = "1000000";
process.env.RATE_LIMIT_PER_MINUTE = "1000000";
process.env.RATE_LIMIT_ANONYMOUS_BURST = "1000000";
process.env.RATE_LIMIT_ANONYMOUS_PER_MINUTE = "1000000";
process.env.LOG_LEVEL = "error";
process.env.OLLAMA_EMBED_MODEL = SYNTHETIC_EMBED_MODEL;
resetConfig();

const N = Number(process.env.BENCH_N ?? 2000);
const ASKS = Number(process.env.BENCH_ASKS ?? 200);
const CHUNKS = Number(process.env.BENCH_CHUNKS ?? 20_000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 16);
/** The instance the caller lives in: many collections, a good part of them members-only. */
const EXTRA_COLLECTIONS = 60;
const MEMBER_OF = 15;

const ms = (x: number) => `${x.toFixed(2)} ms`;

async function timeEach(count: number, fn: (i: number) => Promise<unknown>): Promise<number[]> {
  for (let i = 0; i < Math.min(50, count); i++) await fn(i); // warm-up: pools, JIT, plans
  const times: number[] = [];
  for (let i = 0; i < count; i++) {
    const s = performance.now();
    await fn(i);
    times.push(performance.now() - s);
  }
  return times;
}

/** A viewer who is a member of some members-only collections, with a session cookie and an ask key limited to a few collections. */
async function caller(db: Db, synthetic: string[]) {
  const user = await createUser(db, { email: "member@example.test", password: "bench-password-1", role: "viewer" });
  const restricted: string[] = [];
  for (let i = 0; i < EXTRA_COLLECTIONS; i++) {
    const c = await db.prisma.collection.create({ data: { slug: `x${i}`, name: `x${i}`, restricted: i % 2 === 0 } });
    if (c.restricted) restricted.push(c.id);
  }
  await db.prisma.collectionMember.createMany({ data: restricted.slice(0, MEMBER_OF).map((collectionId) => ({ collectionId, userId: user.id })) });
  const { key } = await createApiKey(db, { name: "bench ask", scopes: ["ask"], collectionIds: [...synthetic.slice(0, 5), ...restricted.slice(0, 3)], createdById: user.id });
  const cookie = `next-auth.session-token=${await encode({ token: { sub: user.id, sv: 0 }, secret: process.env.AUTH_SECRET! })}`;
  return { cookie: { cookie }, key: { authorization: `Bearer ${key}` } };
}

async function accessShare(db: Db) {
  const ollama = await startFakeOllama({ models: [...DEFAULT_FAKE_MODELS, SYNTHETIC_EMBED_MODEL] });
  process.env.OLLAMA_HOST = ollama.url;
  resetConfig();
  resetLlm();
  try {
    const { collections, queries } = await loadSynthetic(db, CHUNKS, 100);
    const forms = await caller(db, collections);
    const total = await db.prisma.collection.count();
    console.log(`\nthe ask path's access check: ${CHUNKS} chunks; ${total} collections (${EXTRA_COLLECTIONS / 2} members-only, the caller a member of ${MEMBER_OF}); load ${loadAverage()}`);
    for (const [label, headers] of [["session cookie", forms.cookie], ["API key", forms.key]] as const) {
      const h = new Headers(headers);
      const who: number[] = [];
      const context: number[] = [];
      const check = await timeEach(N, async () => {
        const s = performance.now();
        const principal = await resolvePrincipal(db, h);
        if (!principal || principal === "bearer-invalid") throw new Error(`${label}: not signed in`);
        const m = performance.now();
        await accessContextFor(db, principal);
        who.push(m - s);
        context.push(performance.now() - m);
      });
      const ask = await timeEach(ASKS, async (i) => {
        const res = await evaluateRoute(
          new Request("http://bench.local/api/evaluate", {
            method: "POST",
            headers: { "content-type": "application/json", host: "bench.local", ...headers },
            body: JSON.stringify({ question: queries[i % queries.length]!.text, stream: false }),
          }),
        );
        if (res.status !== 200) throw new Error(`${label}: POST /api/evaluate → ${res.status} ${await res.text()}`);
        await res.json();
      });
      const [c50, c95, a50, a95] = [percentile(check, 50), percentile(check, 95), percentile(ask, 50), percentile(ask, 95)];
      console.log(
        `${label.padEnd(15)} access context p50 ${ms(c50)}, p95 ${ms(c95)} (${N}×) · POST /api/evaluate p50 ${ms(a50)}, p95 ${ms(a95)} (${ASKS}×) · ` +
          `share ${((100 * c50) / a50).toFixed(1)}% at p50, ${((100 * c95) / a95).toFixed(1)}% at p95 · target p95 < 5 ms: ${c95 < 5 ? "met" : "over"}`,
      );
      // (The first calls were the warm-up.)
      who.splice(0, who.length - N);
      context.splice(0, context.length - N);
      console.log(
        `${"".padEnd(15)} of which: who is calling (resolvePrincipal) p50 ${ms(percentile(who, 50))}, p95 ${ms(percentile(who, 95))}; ` +
          `the collections it reads (accessContextFor) p50 ${ms(percentile(context, 50))}, p95 ${ms(percentile(context, 95))}`,
      );
    }
  } finally {
    await ollama.close();
  }
}

async function measure(label: string, call: () => Promise<Response>) {
  const times = await timeEach(N, async () => {
    const res = await call();
    if (res.status !== 200) throw new Error(`${label}: status ${res.status}`);
  });
  const sequential = N / (times.reduce((a, b) => a + b, 0) / 1000);
  const t0 = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next++ < N) await call();
    }),
  );
  const concurrent = N / ((performance.now() - t0) / 1000);
  console.log(
    `${label.padEnd(34)} p50 ${ms(percentile(times, 50))}  p95 ${ms(percentile(times, 95))}  ` +
      `${sequential.toFixed(0)} req/s sequential, ${concurrent.toFixed(0)} req/s at concurrency ${CONCURRENCY}`,
  );
}

async function main() {
  console.log(machine());
  const { db, drop } = await scratchDb("access");
  setDb(db);
  try {
    await accessShare(db);

    const user = await createUser(db, { email: "bench@example.test", password: "bench-password-1", role: "admin" });
    const { key } = await createApiKey(db, { name: "bench", scopes: ["ask", "admin"], createdById: user.id });
    const cookie = `next-auth.session-token=${await encode({ token: { sub: user.id, sv: 0 }, secret: process.env.AUTH_SECRET! })}`;
    const handler = route({ permission: "ask", body: z.object({ q: z.string() }) }, async ({ body }) => ({ echo: body.q }));
    const publicHandler = route({ permission: "public" }, async () => ({ ok: true }));
    const req = (headers: Record<string, string>) =>
      new Request("http://bench.local/api/bench", { method: "POST", headers: { "content-type": "application/json", host: "bench.local", ...headers }, body: '{"q":"hello"}' });

    console.log(`\nroute wrapper, ${N} requests each (trivial handler, an admin caller, PostgreSQL ${new URL(db.url!).host}):`);
    await measure("public route (no authentication)", () => publicHandler(new Request("http://bench.local/api/p")));
    await measure("API key (SHA-256 lookup)", () => handler(req({ authorization: `Bearer ${key}` })));
    await measure("session cookie (JWT + user row)", () => handler(req({ cookie, origin: "http://bench.local" })));

    const hashes: number[] = [];
    const verifies: number[] = [];
    let hash = "";
    for (let i = 0; i < 10; i++) {
      let s = performance.now();
      hash = await hashPassword(`password-${i}-xxxxxxxx`);
      hashes.push(performance.now() - s);
      s = performance.now();
      await verifyPassword(hash, `password-${i}-xxxxxxxx`);
      verifies.push(performance.now() - s);
    }
    console.log(`\nargon2id (m=19 MiB, t=2, p=1): hash p50 ${percentile(hashes, 50).toFixed(1)} ms, verify p50 ${percentile(verifies, 50).toFixed(1)} ms (the cost of one sign-in)`);

    const ROWS = Number(process.env.BENCH_QUERY_LOGS ?? 50_000);
    // A long history (one row a second back in time) of which the last hour counts.
    await db.prisma.$executeRawUnsafe(INSERT_QUERY_LOG_HISTORY, ROWS);
    await db.prisma.$executeRawUnsafe("ANALYZE query_logs");
    const renders: number[] = [];
    for (let i = 0; i < 10; i++) {
      const s = performance.now();
      await renderMetrics(db);
      renders.push(performance.now() - s);
    }
    console.log(`GET /api/metrics with ${ROWS} query-log rows (3,600 in the last hour): p50 ${percentile(renders, 50).toFixed(1)} ms, max ${Math.max(...renders).toFixed(1)} ms`);
  } finally {
    await drop();
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
