// Rate-limit buckets shared by every process: the one SQL statement on PostgreSQL and on PGlite (the
// embedded default), and the Lua script on a real Redis. Several connections (as several web
// processes would have) take from one bucket at once: exactly the burst is granted.
import { randomBytes } from "node:crypto";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openPostgres, usePglite, type Db } from "@/lib/db/client";
import { openInMemory } from "@/lib/db/embedded";
import { RateLimitError } from "@/lib/errors";
import { PostgresRateLimitStore, principalBucket, RedisRateLimitStore, type RateLimitStore } from "@/lib/http/rate-limit";
import { createTestDb, type TestDb } from "@/tests/helpers/db";

const REDIS_URL = process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379/0";
const unique = (name: string) => `${name}:${randomBytes(6).toString("hex")}`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let db: TestDb;
let second: Db; // another pool on the same database: what a second web process has
let pglite: Db;
let redisStores: RedisRateLimitStore[] = [];
let redis: Redis;

beforeAll(async () => {
  db = await createTestDb();
  second = db.url ? await openPostgres(db.url, { poolSize: 5 }) : db;
  pglite = await usePglite(await openInMemory());
  redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await redis.connect();
});
afterAll(async () => {
  for (const s of redisStores) await s.close();
  await redis?.quit();
  if (second && second !== db) await second.close();
  await pglite?.close();
  await db?.drop();
});

function redisStore(url = REDIS_URL, fallbackDb: Db = db): RedisRateLimitStore {
  const s = new RedisRateLimitStore(url, new PostgresRateLimitStore(fallbackDb));
  redisStores.push(s);
  return s;
}

/** Moves a bucket's last update an hour back, as if nobody had asked for an hour. */
const ageInTable = (on: () => Db) => async (key: string) => {
  await on().sql.query("UPDATE rate_limit_buckets SET updated_at = updated_at - interval '1 hour' WHERE key = $1", [key]);
};
const ageInRedis = async (key: string) => {
  const ts = Number(await redis.hget(RedisRateLimitStore.PREFIX + key, "ts"));
  await redis.hset(RedisRateLimitStore.PREFIX + key, "ts", String(ts - 3_600_000));
};

const stores: Array<[string, () => [RateLimitStore, RateLimitStore], (key: string) => Promise<void>]> = [
  ["PostgreSQL", () => [new PostgresRateLimitStore(db), new PostgresRateLimitStore(second)], ageInTable(() => db)],
  ["PGlite (embedded default)", () => [new PostgresRateLimitStore(pglite), new PostgresRateLimitStore(pglite)], ageInTable(() => pglite)],
  ["Redis", () => [redisStore(), redisStore()], ageInRedis],
];

describe.each(stores)("token buckets in %s", (_name, make, age) => {
  it("grants the burst, then refuses with the wait the refill rate gives, then refills", async () => {
    const [a] = make();
    const key = unique("user");
    const opts = { perMinute: 60, burst: 3 };
    expect([await a.take(key, opts), await a.take(key, opts), await a.take(key, opts)]).toEqual([0, 0, 0]);
    const wait = await a.take(key, opts);
    expect(wait).toBeGreaterThan(0);
    expect(wait).toBeLessThanOrEqual(1000); // one token a second
    await sleep(wait + 100);
    expect(await a.take(key, opts)).toBe(0);
    expect(await a.take(key, opts)).toBeGreaterThan(0);
  });

  it("keeps one bucket per principal: a busy user does not slow down another user or a key", async () => {
    const [a] = make();
    const opts = { perMinute: 1, burst: 1 };
    const u1 = principalBucket({ kind: "user", userId: unique("u1"), apiKeyId: null });
    expect(await a.take(u1, opts)).toBe(0);
    expect(await a.take(u1, opts)).toBeGreaterThan(0);
    expect(await a.take(principalBucket({ kind: "user", userId: unique("u2"), apiKeyId: null }), opts)).toBe(0);
    expect(await a.take(principalBucket({ kind: "api_key", userId: "u1", apiKeyId: unique("k1") }), opts)).toBe(0);
  });

  it("never refills beyond the burst after a long pause", async () => {
    const [a, b] = make();
    const key = unique("pause");
    const opts = { perMinute: 60, burst: 2 };
    expect([await a.take(key, opts), await a.take(key, opts)]).toEqual([0, 0]);
    expect(await a.take(key, opts)).toBeGreaterThan(0);
    await age(key); // an hour at one a second would be 3600 tokens
    const results = await Promise.all(Array.from({ length: 6 }, (_, i) => (i % 2 ? a : b).take(key, opts)));
    expect(results.filter((w) => w === 0).length).toBe(2);
  });

  it("grants exactly the burst to many simultaneous takes from two processes' connections", async () => {
    const [a, b] = make();
    const key = unique("race");
    const opts = { perMinute: 0.001, burst: 10 };
    const results = await Promise.all(Array.from({ length: 40 }, (_, i) => (i % 2 ? a : b).take(key, opts)));
    expect(results.filter((w) => w === 0).length).toBe(10);
  });
});

describe("Redis store", () => {
  it("keeps its buckets in Redis (with an expiry), not in the table", async () => {
    const key = unique("where");
    await redisStore().take(key, { perMinute: 60, burst: 5 });
    const stored = await redis.hgetall(RedisRateLimitStore.PREFIX + key);
    expect(Number(stored.tokens)).toBeCloseTo(4, 1);
    const ttl = await redis.pttl(RedisRateLimitStore.PREFIX + key);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(2000); // one token back after a second, plus a second's margin
    expect(await db.sql.query("SELECT 1 FROM rate_limit_buckets WHERE key = $1", [key])).toEqual([]);
  });

  it("falls back to PostgreSQL when Redis does not answer", async () => {
    const key = unique("fallback");
    const store = redisStore("redis://127.0.0.1:9/0");
    expect(await store.take(key, { perMinute: 60, burst: 1 })).toBe(0);
    expect(await store.take(key, { perMinute: 60, burst: 1 })).toBeGreaterThan(0);
    expect((await db.sql.query<{ key: string }>("SELECT key FROM rate_limit_buckets WHERE key = $1", [key])).length).toBe(1);
  });
});

it("a refusal is a 429 with Retry-After in whole seconds", async () => {
  const { takeOrThrow } = await import("@/lib/http/rate-limit");
  const key = unique("http");
  await takeOrThrow(db, key, { perMinute: 30, burst: 1 });
  const err = await takeOrThrow(db, key, { perMinute: 30, burst: 1 }).catch((e) => e);
  expect(err).toBeInstanceOf(RateLimitError);
  expect(err.status).toBe(429);
  expect(Number(err.headers["Retry-After"])).toBeGreaterThanOrEqual(1);
  expect(Number(err.headers["Retry-After"])).toBeLessThanOrEqual(2);
});

it("keeps the PostgreSQL buckets in an unlogged table: a take does not wait for a WAL flush", async () => {
  // Every request takes from a bucket while holding its row lock; a logged table would make each take
  // wait for its commit's fsync, and concurrent requests of one caller queue behind one another's.
  const [t] = await db.sql.query<{ persistence: string }>(`SELECT relpersistence AS persistence FROM pg_class WHERE oid = 'rate_limit_buckets'::regclass`);
  expect(t!.persistence).toBe("u");
});
