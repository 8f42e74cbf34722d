import { describe, expect, it } from "vitest";
import { RateLimitError } from "@/lib/errors";
import { principalBucket, RateLimiter } from "@/lib/http/rate-limit";

describe("token bucket rate limiter", () => {
  it("allows the burst, then refuses with a Retry-After that matches the refill rate", () => {
    let now = 1_000_000;
    const rl = new RateLimiter({ perMinute: 60, burst: 3 }, () => now);
    rl.take("user:a");
    rl.take("user:a");
    rl.take("user:a");
    let err: unknown;
    try {
      rl.take("user:a");
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(RateLimitError);
    expect((err as RateLimitError).status).toBe(429);
    expect((err as RateLimitError).headers?.["Retry-After"]).toBe("1");
    // One token per second at 60/min: after 1 s one more request passes, the next does not.
    now += 1000;
    rl.take("user:a");
    expect(rl.tryTake("user:a")).toBeGreaterThan(0);
  });

  it("keeps one bucket per principal: a busy user does not slow down another user or a key", () => {
    const now = 5_000;
    const rl = new RateLimiter({ perMinute: 10, burst: 1 }, () => now);
    rl.take(principalBucket({ kind: "user", userId: "u1", apiKeyId: null }));
    expect(() => rl.take(principalBucket({ kind: "user", userId: "u1", apiKeyId: null }))).toThrow(RateLimitError);
    expect(() => rl.take(principalBucket({ kind: "user", userId: "u2", apiKeyId: null }))).not.toThrow();
    // A key made by u1 has its own bucket.
    expect(() => rl.take(principalBucket({ kind: "api_key", userId: "u1", apiKeyId: "k1" }))).not.toThrow();
  });

  it("never refills beyond the burst after a long pause", () => {
    let now = 0;
    const rl = new RateLimiter({ perMinute: 600, burst: 2 }, () => now);
    now += 3_600_000;
    rl.take("k");
    rl.take("k");
    expect(rl.tryTake("k")).toBeGreaterThan(0);
  });
});
