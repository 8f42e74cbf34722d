// What access control costs per request, on PostgreSQL: the route wrapper (authentication, permission,
// CSRF check, rate limit, metrics, JSON) with an API key and with a session cookie; password hashing at
// sign-in; rendering /api/metrics over a large query log. Prints figures; asserts nothing.
//   npm run bench:access        (BENCH_DATABASE_URL / TEST_DATABASE_URL, default local PostgreSQL)
import { randomBytes } from "node:crypto";
import { encode } from "next-auth/jwt";
import { z } from "zod";
import { createApiKey } from "@/lib/auth/api-keys";
import { hashPassword, verifyPassword } from "@/lib/auth/passwords";
import { createUser } from "@/lib/auth/users";
import { resetConfig } from "@/lib/config";
import { setDb } from "@/lib/db/client";
import { route } from "@/lib/http/route";
import { renderMetrics } from "@/lib/metrics";
import { machine, percentile, scratchDb } from "./lib";

process.env.AUTH_SECRET ??= randomBytes(32).toString("hex");
process.env.RATE_LIMIT_BURST = "1000000";
process.env.RATE_LIMIT_PER_MINUTE = "1000000";
process.env.RATE_LIMIT_ANONYMOUS_BURST = "1000000";
process.env.RATE_LIMIT_ANONYMOUS_PER_MINUTE = "1000000";
process.env.LOG_LEVEL = "error";
resetConfig();

const N = Number(process.env.BENCH_N ?? 2000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 16);

async function measure(label: string, call: () => Promise<Response>) {
  for (let i = 0; i < 50; i++) await call(); // warm-up: pools, JIT
  const times: number[] = [];
  let t0 = performance.now();
  for (let i = 0; i < N; i++) {
    const s = performance.now();
    const res = await call();
    if (res.status !== 200) throw new Error(`${label}: status ${res.status}`);
    times.push(performance.now() - s);
  }
  const sequential = N / ((performance.now() - t0) / 1000);
  t0 = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next++ < N) await call();
    }),
  );
  const concurrent = N / ((performance.now() - t0) / 1000);
  console.log(
    `${label.padEnd(34)} p50 ${percentile(times, 50).toFixed(2)} ms  p95 ${percentile(times, 95).toFixed(2)} ms  ` +
      `${sequential.toFixed(0)} req/s sequential, ${concurrent.toFixed(0)} req/s at concurrency ${CONCURRENCY}`,
  );
}

async function main() {
  console.log(machine());
  const { db, drop } = await scratchDb("access");
  setDb(db);
  try {
    const user = await createUser(db, { email: "bench@example.test", password: "bench-password-1", role: "admin" });
    const { key } = await createApiKey(db, { name: "bench", scopes: ["ask", "admin"], createdById: user.id });
    const cookie = `next-auth.session-token=${await encode({ token: { sub: user.id, sv: 0 }, secret: process.env.AUTH_SECRET! })}`;
    const handler = route({ permission: "ask", body: z.object({ q: z.string() }) }, async ({ body }) => ({ echo: body.q }));
    const publicHandler = route({ permission: "public" }, async () => ({ ok: true }));
    const req = (headers: Record<string, string>) =>
      new Request("http://bench.local/api/bench", { method: "POST", headers: { "content-type": "application/json", host: "bench.local", ...headers }, body: '{"q":"hello"}' });

    console.log(`\nroute wrapper, ${N} requests each (trivial handler, PostgreSQL ${new URL(db.url!).host}):`);
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
    await db.prisma.$executeRawUnsafe(
      `INSERT INTO query_logs (question_sha256, model, prompt_tokens, completion_tokens, timings, status, created_at)
       SELECT md5(g::text), 'llama3.3:70b-instruct-q4_K_M', 1500, 200,
              jsonb_build_object('totalMs', 1000 + g % 4000, 'firstTokenMs', 300 + g % 900, 'retrieveMs', 20 + g % 80), 'ok',
              now() - g * interval '1 second'
         FROM generate_series(1, ${ROWS}) g`,
    );
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
