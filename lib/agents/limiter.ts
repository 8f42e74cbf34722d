// An agent token's limits as a run limiter (lib/usage/run-limits.ts), for model calls made by work done
// with the token (usage scope, lib/usage/scope.ts): each model call counts as one more call made with the
// token and each failed one as a failure, on every limited link of its chain, against what the chain had
// left when the request was admitted; its runtime ends at the token's expiry. Reaching one refuses the
// model call with "stopped: limit reached (…)" and the token is stopped for its next call too.
import type { SqlRunner } from "../db/sql-runner";
import { log } from "../log";
import { trackUsageWrite } from "../usage/meter";
import { RunLimiter, RunLimitReachedError } from "../usage/run-limits";
import { countTokenCall, countTokenFailure } from "./queries";
import type { AgentIdentity } from "./tokens";

export class AgentTokenLimiter extends RunLimiter {
  private callsLeft: number | null;
  private failuresLeft: number | null;

  constructor(
    private readonly sql: SqlRunner,
    private readonly agent: AgentIdentity,
    now: () => number = Date.now,
  ) {
    const seconds = agent.expiresAt ? Math.max(1, Math.floor((agent.expiresAt.getTime() - now()) / 1000)) : null;
    super({ maxModelCalls: null, maxRetries: null, maxRuntimeSeconds: seconds }, now);
    this.callsLeft = agent.callsLeft;
    this.failuresLeft = agent.failuresLeft;
  }

  override beforeCall(): void {
    this.check();
    if (this.callsLeft !== null) {
      if (this.callsLeft <= 0) {
        this.reached = `the agent token's calls`;
        throw new RunLimitReachedError(this.reached);
      }
      this.callsLeft--;
    }
    this.modelCalls++;
    if (this.agent.callsLeft !== null) this.record(countTokenCall(this.sql, this.agent.chainIds));
  }

  override failedAttempt(): void {
    this.retries++;
    if (this.failuresLeft === null) return;
    this.failuresLeft--;
    this.record(countTokenFailure(this.sql, this.agent.chainIds));
    if (this.failuresLeft <= 0) this.reached ??= `the agent token's refused or failed calls`;
  }

  private record(p: Promise<void>): void {
    // Off the call's path; flushUsage() waits for it like for the ledger rows.
    trackUsageWrite(p.catch((err: Error) => log("error", "could not count an agent token's model call", { tokenId: this.agent.tokenId, error: err.message })));
  }
}
