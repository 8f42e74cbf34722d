// Rate-limit buckets shared by every process: the one SQL statement on PostgreSQL and on PGlite (the
// embedded default), and the Lua script on a real Redis. Several connections (as several web
// processes would have) take from one bucket at once: exactly the burst is granted. Fast buckets taken
// in slices by two processes still grant no more than the bucket holds.
import { randomBytes } from "node:crypto";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openPostgres, usePglite, type Db } from "@/lib/db/client";
import { openInMemory } from "@/lib/db/embedded";
import { RateLimitError } from "@/lib/errors";
import { PostgresRateLimitStore, principalBucket, RedisRateLimitStore, SlicedRateLimitStore, sliceSize, type BucketOptions, type RateLimitStore } from "@/lib/http/rate-limit";
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

/** The store's takes, counted: how many statements (or scripts) the slices saved. */
class CountedStore implements RateLimitStore {
  takes = 0;
  constructor(private readonly store: RateLimitStore) {}
  get kind() {
    return this.store.kind;
  }
  take(key: string, opts: BucketOptions, cost?: number) {
    this.takes++;
    return this.store.take(key, opts, cost);
  }
}

/** The store's own clock in seconds: the one its buckets refill by. */
const pgSeconds = async () => Number((await db.sql.query<{ s: string }>("SELECT extract(epoch FROM clock_timestamp()) AS s"))[0]!.s);
const redisSeconds = async () => {
  const [s, us] = await redis.time();
  return Number(s) + Number(us) / 1e6;
};

describe.each([
  ["PostgreSQL", () => [new PostgresRateLimitStore(db), new PostgresRateLimitStore(second)], pgSeconds],
  ["Redis", () => [redisStore(), redisStore()], redisSeconds],
] as Array<[string, () => RateLimitStore[], () => Promise<number>]>)("fast buckets taken in slices from %s", (_name, make, storeSeconds) => {
  it("slices only buckets whose rate is high: the defaults go to the store on every take", () => {
    expect(sliceSize({ perMinute: 300, burst: 60 })).toBe(1); // RATE_LIMIT_PER_MINUTE / _BURST defaults
    expect(sliceSize({ perMinute: 6, burst: 10 })).toBe(1); // sign-in per e-mail address
    expect(sliceSize({ perMinute: 6000, burst: 200 })).toBe(10); // a tenth of a second of 100/s
    expect(sliceSize({ perMinute: 1_000_000, burst: 100 })).toBe(5); // a twentieth of the burst
  });

  it("takes a fast bucket's tokens a slice at a time, and concurrent takes share one slice", async () => {
    const inner = new CountedStore(make()[0]!);
    const sliced = new SlicedRateLimitStore(inner);
    const key = unique("fast");
    const opts = { perMinute: 60_000, burst: 2000 }; // 1,000 a second: slices of 100
    for (let i = 0; i < 250; i++) expect(await sliced.take(key, opts)).toBe(0);
    expect(inner.takes).toBe(3);
    const together = await Promise.all(Array.from({ length: 40 }, () => sliced.take(key, opts)));
    expect(together.every((w) => w === 0)).toBe(true);
    expect(inner.takes).toBe(3); // the 50 left of the third slice, spent without asking the store
  });

  it("never grants more than the shared bucket across two processes, and refuses at most a slice early in each", async () => {
    const [x, y] = make();
    const a = new SlicedRateLimitStore(x!);
    const b = new SlicedRateLimitStore(y!);
    const key = unique("shared");
    const opts = { perMinute: 6000, burst: 200 }; // 100 a second, slices of 10
    const before = await storeSeconds();
    const results = await Promise.all(Array.from({ length: 600 }, (_, i) => (i % 2 ? a : b).take(key, opts)));
    const refilled = Math.ceil(100 * ((await storeSeconds()) - before)); // by the bucket's own clock
    const granted = results.filter((w) => w === 0).length;
    expect(granted).toBeLessThanOrEqual(200 + refilled);
    expect(granted).toBeGreaterThanOrEqual(200 - 2 * 10);
    // Near the limit the takes went to the store one by one: each refusal waits for one token (10 ms).
    const waits = results.filter((w) => w > 0);
    expect(waits.length).toBeGreaterThan(0);
    expect(Math.max(...waits)).toBeLessThanOrEqual(10.5);
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
