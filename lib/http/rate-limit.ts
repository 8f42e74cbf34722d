// Rate limits: token buckets shared by every web process, so N processes (or machines) still allow
// the configured rate once, not N times. The buckets live where every deployment has them:
//   - PostgreSQL (the table rate_limit_buckets), one atomic INSERT … ON CONFLICT DO UPDATE per take —
//     the embedded default (PGlite) uses the same table and statement;
//   - Redis, when REDIS_URL is set: one Lua script per take (atomic on the Redis server). If Redis
//     does not answer, the take falls back to PostgreSQL rather than failing the request.
// Both use the database's (or Redis's) clock, so processes with skewed clocks agree.
// A bucket whose rate is high (an agent allowed hundreds of calls a second) is taken from in slices: a
// process takes several tokens in one statement and spends them itself (SlicedRateLimitStore below).
//
// Who draws from which bucket (lib/http/route.ts calls `limitRequest`; sign-in calls `allowSignInAttempt`):
//   - a signed-in user or an API key: its own bucket (RATE_LIMIT_PER_MINUTE, RATE_LIMIT_BURST);
//   - anyone else, on any route: a bucket per client address (RATE_LIMIT_ANONYMOUS_*), or the
//     route's own named bucket (setup); health checks are exempt;
//   - sign-in attempts: a bucket per e-mail address and one per client address, checked before the
//     password hash is computed, so argon2's CPU cost is not a lever either.
// Workers do not go through HTTP and are not limited.
import { Redis } from "ioredis";
import { getConfig } from "../config";
import type { Db } from "../db/client";
import { RateLimitError } from "../errors";
import { log } from "../log";
import { observeRateLimited } from "../metrics";
import { deleteFullBuckets, takeTokens } from "./queries";

export interface BucketOptions {
  /** Sustained rate. */
  perMinute: number;
  /** Requests allowed at once after a quiet period. */
  burst: number;
}

/** Where buckets are kept. `take` returns 0 when granted, else the milliseconds until `cost` tokens are there. */
export interface RateLimitStore {
  readonly kind: "postgres" | "redis";
  take(key: string, opts: BucketOptions, cost?: number): Promise<number>;
}

// ───────────────────────── PostgreSQL (and PGlite) ─────────────────────────

/** Buckets in the rate_limit_buckets table: one atomic statement per take. */
export class PostgresRateLimitStore implements RateLimitStore {
  readonly kind = "postgres" as const;
  private lastSweep = 0;
  constructor(private readonly db: Db) {}

  async take(key: string, opts: BucketOptions, cost = 1): Promise<number> {
    const ratePerSecond = opts.perMinute / 60;
    const row = await takeTokens(this.db.sql, key, ratePerSecond, opts.burst, cost);
    this.sweepNowAndThen();
    if (!row || row.granted) return 0;
    return Math.max(1, ((cost - Number(row.tokens)) / ratePerSecond) * 1000);
  }

  /** A full bucket carries no information: its row can go. Once a minute per process. */
  private sweepNowAndThen() {
    const now = Date.now();
    if (now - this.lastSweep < 60_000) return;
    this.lastSweep = now;
    deleteFullBuckets(this.db.sql).catch(() => {});
  }
}

// ───────────────────────── Redis ─────────────────────────

// KEYS[1] bucket; ARGV: rate per millisecond, burst, cost. Redis's own clock (TIME); the hash expires
// when the bucket is full again. Returns { granted (0/1), milliseconds to wait } as strings (Lua
// numbers would be truncated to integers).
const REDIS_TAKE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local s = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(s[1])
local ts = tonumber(s[2])
if tokens == nil or ts == nil then tokens = burst; ts = now end
local level = math.min(burst, tokens + math.max(0, now - ts) * rate)
local granted = 0
if level >= cost then
  level = level - cost
  granted = 1
end
redis.call('HSET', KEYS[1], 'tokens', tostring(level), 'ts', tostring(math.max(now, ts)))
redis.call('PEXPIRE', KEYS[1], math.ceil((burst - level) / rate) + 1000)
if granted == 1 then return {'1', '0'} end
return {'0', tostring((cost - level) / rate)}
`;

type RedisWithTake = Redis & { sotTakeToken(key: string, ratePerMs: string, burst: string, cost: string): Promise<[string, string]> };

/** Buckets in Redis (REDIS_URL): one Lua script per take; PostgreSQL when Redis does not answer. */
export class RedisRateLimitStore implements RateLimitStore {
  readonly kind = "redis" as const;
  static readonly PREFIX = "sot:rate-limit:";
  private readonly redis: RedisWithTake;
  private lastFailureLog = 0;
  constructor(
    url: string,
    private readonly fallback: RateLimitStore,
  ) {
    // Fail fast when Redis is away (the fallback answers), and keep reconnecting in the background.
    this.redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1, commandTimeout: 1000, enableOfflineQueue: true }) as RedisWithTake;
    this.redis.on("error", () => {}); // reported per take below, not as an unhandled event
    this.redis.defineCommand("sotTakeToken", { numberOfKeys: 1, lua: REDIS_TAKE });
  }

  async take(key: string, opts: BucketOptions, cost = 1): Promise<number> {
    try {
      const [granted, waitMs] = await this.redis.sotTakeToken(RedisRateLimitStore.PREFIX + key, String(opts.perMinute / 60_000), String(opts.burst), String(cost));
      return granted === "1" ? 0 : Math.max(1, Number(waitMs));
    } catch (err) {
      if (Date.now() - this.lastFailureLog > 60_000) {
        this.lastFailureLog = Date.now();
        log("warn", "rate limit: Redis did not answer; using PostgreSQL", { error: (err as Error).message });
      }
      return this.fallback.take(key, opts, cost);
    }
  }

  async close(): Promise<void> {
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}

// ───────────────────────── slices of fast buckets ─────────────────────────

/** A slice holds at most the tokens this many seconds of the bucket's rate bring… */
const SLICE_OF_RATE_SECONDS = 0.1;
/** …and at most this share of its burst. */
const SLICE_OF_BURST = 1 / 20;
/** What a process has not spent of a slice after this long is dropped (the shared bucket refills it). */
const SLICE_LIFETIME_MS = 1000;

/** How many tokens a process takes at once from a bucket with these settings; 1: every take goes to the store. */
export function sliceSize(opts: BucketOptions): number {
  return Math.max(1, Math.floor(Math.min((opts.perMinute / 60) * SLICE_OF_RATE_SECONDS, opts.burst * SLICE_OF_BURST)));
}

/** What a process knows of one sliced bucket. */
interface SliceState {
  /** Tokens of the slice held, spendable until `until`. */
  tokens: number;
  until: number;
  /** Until when the key's takes go to the store one by one: its last slice was refused. */
  exactUntil: number;
  /** The slice being taken: other takes of this process wait for it rather than take their own. */
  taking: Promise<void> | null;
}

/**
 * Takes from a shared store in slices where a bucket's rate is high. At the defaults (300 a minute, a
 * burst of 60) a slice is one token, and every take is the store's as before. An agent allowed
 * thousands of calls a minute would otherwise cost the database a statement per call for a limit it is
 * far from: its process takes a slice (a tenth of a second of the rate, at most a twentieth of the
 * burst) in one statement and spends it by itself.
 *
 * The limit still holds across processes: a slice's tokens left the shared bucket when it was taken, so
 * all processes together never grant more than the bucket allows. What slicing costs is the other way
 * round: tokens a process holds and has not spent are missing from the bucket for the others, and are
 * dropped after SLICE_LIFETIME_MS. So a caller spread over N processes can be refused up to N slices
 * early (N tenths of a second of its rate), never late. Near the limit (a slice refused) the key's takes
 * go to the store one by one, exactly as without slices, for a slice's lifetime.
 */
export class SlicedRateLimitStore implements RateLimitStore {
  private readonly slices = new Map<string, SliceState>();

  constructor(readonly inner: RateLimitStore) {}

  get kind(): "postgres" | "redis" {
    return this.inner.kind;
  }

  async take(key: string, opts: BucketOptions, cost = 1): Promise<number> {
    const size = sliceSize(opts);
    if (size <= cost) return this.inner.take(key, opts, cost);
    const slice = this.sliceOf(key);
    for (;;) {
      if (spend(slice, cost)) return 0;
      if (slice.exactUntil > Date.now()) return this.inner.take(key, opts, cost);
      if (!slice.taking) break;
      await slice.taking;
    }
    slice.taking = this.takeSlice(slice, key, opts, size);
    try {
      await slice.taking;
    } finally {
      slice.taking = null;
    }
    return spend(slice, cost) ? 0 : this.inner.take(key, opts, cost);
  }

  private async takeSlice(slice: SliceState, key: string, opts: BucketOptions, size: number): Promise<void> {
    const wait = await this.inner.take(key, opts, size);
    const now = Date.now();
    if (wait > 0) {
      slice.exactUntil = now + SLICE_LIFETIME_MS;
      return;
    }
    slice.tokens = (slice.until > now ? slice.tokens : 0) + size;
    slice.until = now + SLICE_LIFETIME_MS;
  }

  /** The key's state; once a thousand keys are known, those with nothing live are forgotten first. */
  private sliceOf(key: string): SliceState {
    let slice = this.slices.get(key);
    if (slice) return slice;
    if (this.slices.size >= 1000) {
      const now = Date.now();
      for (const [k, s] of this.slices) if (s.until <= now && s.exactUntil <= now && !s.taking) this.slices.delete(k);
    }
    this.slices.set(key, (slice = { tokens: 0, until: 0, exactUntil: 0, taking: null }));
    return slice;
  }
}

function spend(slice: SliceState, cost: number): boolean {
  if (slice.until <= Date.now() || slice.tokens < cost) return false;
  slice.tokens -= cost;
  return true;
}

// ───────────────────────── the process's store ─────────────────────────

const STORE = Symbol.for("sot.rateLimitStore");
type G = typeof globalThis & { [STORE]?: { store: SlicedRateLimitStore; db: Db; sig: string } };

/** The store for this process's settings: Redis when REDIS_URL is set, else the database; fast buckets in slices. */
export function rateLimitStore(db: Db): RateLimitStore {
  const g = globalThis as G;
  const url = getConfig().REDIS_URL ?? "";
  const current = g[STORE];
  if (current && current.db === db && current.sig === url) return current.store;
  if (current?.store.inner instanceof RedisRateLimitStore) void current.store.inner.close();
  const pg = new PostgresRateLimitStore(db);
  const store = new SlicedRateLimitStore(url ? new RedisRateLimitStore(url, pg) : pg);
  g[STORE] = { store, db, sig: url };
  return store;
}

/** Takes a token from `key`; throws RateLimitError (429 + Retry-After) when the bucket is short. */
export async function takeOrThrow(db: Db, key: string, opts: BucketOptions): Promise<void> {
  const wait = await rateLimitStore(db).take(key, opts);
  if (wait > 0) throw new RateLimitError(Math.max(1, Math.ceil(wait / 1000)));
}

// ───────────────────────── who draws from which bucket ─────────────────────────

/** The bucket a principal draws from: its key when it used one, else its user. */
export function principalBucket(p: { kind: string; userId: string | null; apiKeyId: string | null; agent?: { agentId: string } }): string {
  if (p.kind === "agent" && p.agent) return `agent:${p.agent.agentId}`;
  return p.kind === "api_key" ? `key:${p.apiKeyId}` : `user:${p.userId}`;
}

/**
 * The client's address as the web process saw it (scripts/serve.ts sets x-sot-client-ip from the
 * socket, or from X-Real-IP when the connection comes from a proxy on the same machine); null when the
 * app runs without it (next dev).
 */
export function clientAddress(headers: Headers | Record<string, string | string[] | undefined>): string | null {
  const raw = headers instanceof Headers ? headers.get("x-sot-client-ip") : headers["x-sot-client-ip"];
  const v = Array.isArray(raw) ? raw[0] : raw;
  return v ? v.slice(0, 64) : null;
}

/** How a route is limited for callers without a principal (lib/http/route.ts `rateLimit`). */
export type RouteRateLimit = "none" | { bucket: string; perMinute: number; burst: number };

/**
 * The limit for one request, before its body is read: the principal's bucket, or for anonymous callers
 * the route's named bucket or the shared anonymous one, per client address.
 */
export async function limitRequest(
  db: Db,
  headers: Headers,
  principal: { kind: string; userId: string | null; apiKeyId: string | null; agent?: { agentId: string } } | null,
  routeLimit?: RouteRateLimit,
): Promise<void> {
  const config = getConfig();
  let key: string;
  let opts: BucketOptions;
  if (principal) {
    key = principalBucket(principal);
    opts = { perMinute: config.RATE_LIMIT_PER_MINUTE, burst: config.RATE_LIMIT_BURST };
  } else if (routeLimit === "none") {
    return;
  } else {
    const address = clientAddress(headers) ?? "unknown";
    if (routeLimit) {
      key = `${routeLimit.bucket}:${address}`;
      opts = routeLimit;
    } else {
      key = `anon:${address}`;
      opts = { perMinute: config.RATE_LIMIT_ANONYMOUS_PER_MINUTE, burst: config.RATE_LIMIT_ANONYMOUS_BURST };
    }
  }
  try {
    await takeOrThrow(db, key, opts);
  } catch (err) {
    observeRateLimited(principal?.kind ?? "anonymous");
    throw err;
  }
}

// Password guessing: per e-mail address (10 at once, then 6 a minute) and per client address (30 at
// once, then 30 a minute), in the shared store.
export const SIGN_IN_PER_EMAIL: BucketOptions = { perMinute: 6, burst: 10 };
export const SIGN_IN_PER_ADDRESS: BucketOptions = { perMinute: 30, burst: 30 };

/** Whether a sign-in attempt may go on to the password check (false: refused like a wrong password). */
export async function allowSignInAttempt(db: Db, email: string, address: string | null): Promise<boolean> {
  const store = rateLimitStore(db);
  if (address && (await store.take(`signin-ip:${address}`, SIGN_IN_PER_ADDRESS)) > 0) {
    observeRateLimited("sign_in");
    return false;
  }
  if ((await store.take(`signin-email:${email.trim().toLowerCase()}`, SIGN_IN_PER_EMAIL)) > 0) {
    observeRateLimited("sign_in");
    return false;
  }
  return true;
}
