// A circuit breaker per model: after OLLAMA_BREAKER_FAILURES consecutive failures (timeouts, refused
// connections, 5xx answers) a model is "open" for OLLAMA_BREAKER_COOLDOWN_MS: calls to it fail at once
// instead of each waiting out a timeout, and the ask path takes the fallback model or the no-model answer
// straight away. After the cool-down one trial call goes through ("half-open"): success closes the
// breaker, failure opens it for another cool-down. Kept per process: each process sees Ollama from where
// it runs, and a breaker that needs the database would fail in the same outage it protects from.

export type BreakerState = "closed" | "open" | "half-open";

export interface BreakerView {
  model: string;
  state: BreakerState;
  consecutiveFailures: number;
  /** When an open breaker lets a trial call through (ISO time), else null. */
  retryAt: string | null;
  lastError: string | null;
}

interface Entry {
  consecutive: number;
  openUntil: number | null;
  trialInFlight: boolean;
  lastError: string | null;
}

export class ModelBreakers {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly threshold: number,
    private readonly cooldownMs: number,
    private readonly now: () => number = Date.now,
    /** Told when a closed breaker opens (not when a failed trial re-opens it): the notification's hook. */
    private readonly onOpen?: (opened: { model: string; failures: number; retryAt: Date }) => void,
  ) {}

  private entry(model: string): Entry {
    let e = this.entries.get(model);
    if (!e) this.entries.set(model, (e = { consecutive: 0, openUntil: null, trialInFlight: false, lastError: null }));
    return e;
  }

  /**
   * Whether a call to `model` may go out now. A closed breaker lets every call through; an open one none
   * until its cool-down ends, then exactly one trial at a time.
   */
  admit(model: string): { ok: true } | { ok: false; retryAt: Date; failures: number; lastError: string | null } {
    const e = this.entry(model);
    if (e.openUntil === null) return { ok: true };
    if (this.now() >= e.openUntil && !e.trialInFlight) {
      e.trialInFlight = true;
      return { ok: true };
    }
    return { ok: false, retryAt: new Date(Math.max(e.openUntil, this.now())), failures: e.consecutive, lastError: e.lastError };
  }

  /** Whether calls to `model` are refused right now (no trial is taken by asking). */
  isOpen(model: string): boolean {
    const e = this.entries.get(model);
    return !!e && e.openUntil !== null && (this.now() < e.openUntil || e.trialInFlight);
  }

  success(model: string): void {
    const e = this.entry(model);
    e.consecutive = 0;
    e.openUntil = null;
    e.trialInFlight = false;
    e.lastError = null;
  }

  failure(model: string, error: string): void {
    const e = this.entry(model);
    e.consecutive++;
    e.lastError = error;
    // A failed trial re-opens at once; a closed breaker opens at the threshold.
    const wasClosed = e.openUntil === null;
    if (e.trialInFlight || e.consecutive >= this.threshold) e.openUntil = this.now() + this.cooldownMs;
    e.trialInFlight = false;
    if (wasClosed && e.openUntil !== null) this.onOpen?.({ model, failures: e.consecutive, retryAt: new Date(e.openUntil) });
  }

  /** A call that ended neither way (the caller aborted it): a trial it held is given back. */
  release(model: string): void {
    const e = this.entries.get(model);
    if (e) e.trialInFlight = false;
  }

  views(): BreakerView[] {
    return [...this.entries.entries()].map(([model, e]) => ({
      model,
      state: e.openUntil === null ? "closed" : this.now() < e.openUntil ? "open" : "half-open",
      consecutiveFailures: e.consecutive,
      retryAt: e.openUntil === null ? null : new Date(e.openUntil).toISOString(),
      lastError: e.lastError,
    }));
  }
}

// The breakers of this process's model client (lib/llm's Llm puts its own here when it is created), for
// the health check and the metrics, which must not import the client itself (it imports them).
const KEY = Symbol.for("sot.modelBreakers");
type Holder = typeof globalThis & { [KEY]?: ModelBreakers };

export function publishBreakers(b: ModelBreakers): void {
  (globalThis as Holder)[KEY] = b;
}

/** Every model this process has called, with its breaker's state. */
export function breakerViews(): BreakerView[] {
  return (globalThis as Holder)[KEY]?.views() ?? [];
}
