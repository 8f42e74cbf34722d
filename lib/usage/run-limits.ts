// Circuit breakers per run (an evaluation run, an import, the work a schedule run starts): at most so
// many model calls, so many retries (failed model calls and failed items), so much runtime. The limiter
// lives in the run's usage scope (lib/usage/scope.ts), so every model call the run makes passes through
// it (lib/usage/meter.ts); reaching a limit refuses the next call with RunLimitReachedError and marks the
// limiter, the run stops taking new work and ends as "stopped: limit reached (…)" — resumable, never a
// silent failure. Counts start again from a resume: resuming is a decision to allow that much more.
import { getConfig } from "../config";

export interface RunLimits {
  /** null or 0: no limit. */
  maxModelCalls: number | null;
  maxRetries: number | null;
  maxRuntimeSeconds: number | null;
}

/** A run's own limits, each falling back to its RUN_MAX_* setting. */
export function effectiveLimits(own: Partial<RunLimits> = {}): RunLimits {
  const c = getConfig();
  const pick = (v: number | null | undefined, def: number) => (v ?? def) || null;
  return {
    maxModelCalls: pick(own.maxModelCalls, c.RUN_MAX_MODEL_CALLS),
    maxRetries: pick(own.maxRetries, c.RUN_MAX_RETRIES),
    maxRuntimeSeconds: pick(own.maxRuntimeSeconds, c.RUN_MAX_RUNTIME_SECONDS),
  };
}

/** The error a model call gets once its run has reached a limit; the run stops instead of failing. */
export class RunLimitReachedError extends Error {
  constructor(readonly reason: string) {
    super(`stopped: limit reached (${reason})`);
    this.name = "RunLimitReachedError";
  }
}

export function isRunLimitReached(err: unknown): err is RunLimitReachedError {
  return err instanceof Error && err.name === "RunLimitReachedError";
}

export class RunLimiter {
  modelCalls = 0;
  retries = 0;
  /** Why the run must stop ("200 model calls"), once a limit is reached. */
  reached: string | null = null;
  private readonly startedAt: number;

  constructor(
    readonly limits: RunLimits,
    private readonly now: () => number = Date.now,
  ) {
    this.startedAt = now();
  }

  /** The run's status line once stopped: "stopped: limit reached (…)". */
  get stopMessage(): string | null {
    return this.reached && `stopped: limit reached (${this.reached})`;
  }

  /** Throws once any limit is reached (checked before each model call and before each piece of work). */
  check(): void {
    const { maxRuntimeSeconds } = this.limits;
    if (!this.reached && maxRuntimeSeconds && (this.now() - this.startedAt) / 1000 >= maxRuntimeSeconds) {
      this.reached = `runtime of ${maxRuntimeSeconds} s`;
    }
    if (this.reached) throw new RunLimitReachedError(this.reached);
  }

  /** Admits one model call, or refuses it when the run has made its maximum. */
  beforeCall(): void {
    this.check();
    const { maxModelCalls } = this.limits;
    if (maxModelCalls && this.modelCalls >= maxModelCalls) {
      this.reached = `${maxModelCalls} model call${maxModelCalls === 1 ? "" : "s"}`;
      throw new RunLimitReachedError(this.reached);
    }
    this.modelCalls++;
  }

  /** Stops the run for a reason of its own (a budget used up mid-run). */
  stop(reason: string): void {
    this.reached ??= reason;
  }

  /** A failed attempt (a model call that failed, an item that failed): one more than the maximum stops the run. */
  failedAttempt(): void {
    this.retries++;
    const { maxRetries } = this.limits;
    if (maxRetries && this.retries > maxRetries) this.reached ??= `${maxRetries} ${maxRetries === 1 ? "retry" : "retries"}`;
  }
}
