// The per-model circuit breaker's states on a controlled clock: closed → open after the threshold,
// refused while open, one trial after the cool-down, closed by a success or re-opened by a failure.
import { describe, expect, it } from "vitest";
import { ModelBreakers } from "@/lib/llm/breaker";

describe("model circuit breaker", () => {
  const clock = { t: 1_000_000 };
  const b = new ModelBreakers(3, 30_000, () => clock.t);

  it("opens after three consecutive failures, not before, and a success in between resets the count", () => {
    b.failure("m", "timed out");
    b.failure("m", "timed out");
    b.success("m");
    b.failure("m", "timed out");
    b.failure("m", "timed out");
    expect(b.admit("m").ok).toBe(true);
    b.failure("m", "ECONNREFUSED");
    const refused = b.admit("m");
    expect(refused).toMatchObject({ ok: false, failures: 3, lastError: "ECONNREFUSED" });
    expect(b.isOpen("m")).toBe(true);
    expect(b.views()).toEqual([{ model: "m", state: "open", consecutiveFailures: 3, retryAt: new Date(clock.t + 30_000).toISOString(), lastError: "ECONNREFUSED" }]);
    // Other models are not affected.
    expect(b.admit("other").ok).toBe(true);
  });

  it("lets exactly one trial through after the cool-down; a failed trial opens it again", () => {
    clock.t += 29_999;
    expect(b.admit("m").ok).toBe(false);
    clock.t += 1;
    expect(b.views()[0]!.state).toBe("half-open");
    expect(b.admit("m").ok).toBe(true);
    expect(b.admit("m").ok).toBe(false); // the trial is in flight
    b.failure("m", "500");
    expect(b.admit("m").ok).toBe(false);
    clock.t += 30_000;
    expect(b.admit("m").ok).toBe(true);
    b.success("m");
    expect(b.admit("m").ok).toBe(true);
    expect(b.isOpen("m")).toBe(false);
    expect(b.views()[0]).toMatchObject({ state: "closed", consecutiveFailures: 0, retryAt: null });
  });

  it("gives back a trial that ended neither way (the caller stopped it)", () => {
    for (let i = 0; i < 3; i++) b.failure("n", "timed out");
    clock.t += 30_000;
    expect(b.admit("n").ok).toBe(true);
    b.release("n");
    expect(b.admit("n").ok).toBe(true);
  });

  it("tells its creator when a closed breaker opens — once, not again when a failed trial re-opens it", () => {
    const t = { now: 5_000_000 };
    const opened: Array<{ model: string; failures: number; retryAt: Date }> = [];
    const nb = new ModelBreakers(2, 10_000, () => t.now, (o) => opened.push(o));
    nb.failure("x", "timed out");
    expect(opened).toEqual([]);
    nb.failure("x", "timed out");
    expect(opened).toEqual([{ model: "x", failures: 2, retryAt: new Date(t.now + 10_000) }]);
    t.now += 10_000;
    expect(nb.admit("x").ok).toBe(true);
    nb.failure("x", "timed out"); // the trial failed: open again, no second notice
    expect(opened).toHaveLength(1);
    t.now += 10_000;
    nb.admit("x");
    nb.success("x");
    nb.failure("x", "timed out");
    nb.failure("x", "timed out"); // closed, then opened anew: a new notice
    expect(opened).toHaveLength(2);
  });
});
