// Two web processes on one database share every rate limit: a key's bucket, an anonymous caller's
// (setup, per client address) and sign-in's (per e-mail address) — first with the buckets in
// PostgreSQL, then with REDIS_URL set, where they must live in Redis.
import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RedisRateLimitStore } from "@/lib/http/rate-limit";
import { startApp, type RunningApp } from "@/tests/helpers/app";
import { createTestDb, type TestDb } from "@/tests/helpers/db";
import { makeApiKey, makeUser, type TestUser } from "@/tests/helpers/auth";
import { signInOverHttp } from "@/tests/helpers/http-session";

const REDIS_URL = process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379/0";
const BURST = 6;
const ENV = {
  RATE_LIMIT_BURST: String(BURST),
  RATE_LIMIT_PER_MINUTE: "1", // one token a minute: nothing refills during the test
  RATE_LIMIT_ANONYMOUS_BURST: "1000",
};

const get = (app: RunningApp, path: string, headers: Record<string, string>) => fetch(`${app.baseUrl}${path}`, { headers }).then(async (r) => (await r.body?.cancel(), r));

describe.each([
  ["PostgreSQL", {}],
  ["Redis", { REDIS_URL }],
] as const)("two web processes with the buckets in %s", (store, extraEnv) => {
  let db: TestDb;
  let a: RunningApp;
  let b: RunningApp;
  let admin: TestUser;
  beforeAll(async () => {
    db = await createTestDb();
    a = await startApp({ db, env: { ...ENV, ...extraEnv } });
    b = await startApp({ db, env: { ...ENV, ...extraEnv } });
    admin = await makeUser(db, "admin");
  });
  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    await db?.drop();
  });

  it("a key gets the burst once across both processes, not once per process", async () => {
    const key = await makeApiKey(db, ["ask"], { creator: admin });
    const statuses: number[] = [];
    for (let i = 0; i < BURST; i++) statuses.push((await get(i % 2 ? a : b, "/api/conversations", key.headers)).status);
    expect(statuses).toEqual(Array(BURST).fill(200));
    const onA = await get(a, "/api/conversations", key.headers);
    const onB = await get(b, "/api/conversations", key.headers);
    expect([onA.status, onB.status]).toEqual([429, 429]);
    expect(Number(onB.headers.get("retry-after"))).toBeGreaterThan(1);

    const bucket = `key:${key.id}`;
    const inTable = await db.sql.query("SELECT 1 FROM rate_limit_buckets WHERE key = $1", [bucket]);
    if (store === "Redis") {
      const redis = new Redis(REDIS_URL);
      try {
        expect(Number(await redis.hget(RedisRateLimitStore.PREFIX + bucket, "tokens"))).toBeLessThan(1);
      } finally {
        await redis.quit();
      }
      expect(inTable).toEqual([]);
    } else {
      expect(inTable.length).toBe(1);
    }
  });

  it("setup (anonymous) is limited per client address across both processes", async () => {
    // Client addresses as the server reads them from X-Real-IP (sent from loopback): fresh ones per run,
    // since Redis outlives the test.
    const address = `client-${randomUUID()}`;
    const setup = (app: RunningApp, ip: string) =>
      fetch(`${app.baseUrl}/api/setup`, {
        method: "POST",
        headers: { "content-type": "application/json", origin: app.baseUrl, "x-real-ip": ip },
        body: JSON.stringify({ email: "late@example.test", password: "a long enough password" }),
      }).then((r) => r.status);
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push(await setup(i % 2 ? a : b, address));
    expect(statuses).toEqual([409, 409, 409, 409, 409, 429]); // 5 at once per address (app/api/setup)
    expect(await setup(a, address)).toBe(429);
    expect(await setup(b, `client-${randomUUID()}`)).toBe(409); // another address is not affected
  });

  it("sign-in attempts per e-mail address are counted across both processes", async () => {
    const user = await makeUser(db, "viewer");
    // Each attempt from its own address, so only the per-e-mail bucket (10 at once) can refuse.
    for (let i = 0; i < 10; i++) {
      const r = await signInOverHttp((i % 2 ? a : b).baseUrl, user.email, "not the password", { "x-real-ip": `client-${randomUUID()}` });
      expect(r.cookie).toBeNull();
    }
    // The right password, on either process: refused, because the address has had its attempts.
    expect((await signInOverHttp(a.baseUrl, user.email, user.password, { "x-real-ip": `client-${randomUUID()}` })).cookie).toBeNull();
    expect((await signInOverHttp(b.baseUrl, user.email, user.password, { "x-real-ip": `client-${randomUUID()}` })).cookie).toBeNull();
    // Another user signs in fine.
    const other = await makeUser(db, "viewer");
    expect((await signInOverHttp(b.baseUrl, other.email, other.password, { "x-real-ip": `client-${randomUUID()}` })).cookie).not.toBeNull();
  });
});
