// Rate limits per user and per API key: one token bucket per principal, kept in this process's memory.
// That is exact with ONE web process (the production layout: one Next.js process on Mini 1); with
// several web processes each would allow the full rate. Workers do not go through HTTP and are not limited.
import { RateLimitError } from "../errors";

export interface BucketOptions {
  /** Sustained rate. */
  perMinute: number;
  /** Requests allowed at once after a quiet period. */
  burst: number;
}

interface Bucket {
  tokens: number;
  updated: number;
}

export class RateLimiter {
  private buckets = new Map<string, Bucket>();
  constructor(
    private readonly opts: BucketOptions,
    private readonly now: () => number = () => Date.now(),
  ) {}

  /** Takes `cost` tokens for `id`; throws RateLimitError (429 + Retry-After) when the bucket is short. */
  take(id: string, cost = 1): void {
    const wait = this.tryTake(id, cost);
    if (wait > 0) throw new RateLimitError(Math.max(1, Math.ceil(wait / 1000)));
  }

  /** 0 when allowed, else the milliseconds until `cost` tokens are available. */
  tryTake(id: string, cost = 1): number {
    const { perMinute, burst } = this.opts;
    const now = this.now();
    const ratePerMs = perMinute / 60_000;
    const b = this.buckets.get(id) ?? { tokens: burst, updated: now };
    b.tokens = Math.min(burst, b.tokens + (now - b.updated) * ratePerMs);
    b.updated = now;
    this.buckets.set(id, b);
    if (b.tokens >= cost) {
      b.tokens -= cost;
      this.sweep(now);
      return 0;
    }
    return (cost - b.tokens) / ratePerMs;
  }

  /** Full buckets carry no information: drop them now and then so memory stays bounded. */
  private sweep(now: number) {
    if (this.buckets.size < 10_000) return;
    const fullAfter = (this.opts.burst / this.opts.perMinute) * 60_000;
    for (const [id, b] of this.buckets) if (now - b.updated > fullAfter) this.buckets.delete(id);
  }
}

const KEY = Symbol.for("sot.rateLimiter");
type G = typeof globalThis & { [KEY]?: { limiter: RateLimiter; sig: string } };

/** The process's limiter for the configured rate (rebuilt when the settings change, e.g. in tests). */
export function processLimiter(opts: BucketOptions): RateLimiter {
  const g = globalThis as G;
  const sig = `${opts.perMinute}/${opts.burst}`;
  if (!g[KEY] || g[KEY].sig !== sig) g[KEY] = { limiter: new RateLimiter(opts), sig };
  return g[KEY].limiter;
}

/** The bucket a principal draws from: its key when it used one, else its user. */
export function principalBucket(p: { kind: string; userId: string | null; apiKeyId: string | null }): string {
  return p.kind === "api_key" ? `key:${p.apiKeyId}` : `user:${p.userId}`;
}

// Password guessing: sign-in goes through next-auth, not the route wrapper, so it has its own buckets —
// per e-mail address (10 at once, then 6 a minute) and per client address (30 at once, then 30 a minute).
// Checked before the password hash is computed, which also keeps argon2's CPU cost from being a lever.
const SIGN_IN = Symbol.for("sot.signInLimiters");
type S = typeof globalThis & { [SIGN_IN]?: { email: RateLimiter; ip: RateLimiter } };

export function allowSignInAttempt(email: string, ip: string | null): boolean {
  const g = globalThis as S;
  const l = (g[SIGN_IN] ??= { email: new RateLimiter({ perMinute: 6, burst: 10 }), ip: new RateLimiter({ perMinute: 30, burst: 30 }) });
  if (ip && l.ip.tryTake(`ip:${ip}`) > 0) return false;
  return l.email.tryTake(`email:${email.trim().toLowerCase()}`) === 0;
}
