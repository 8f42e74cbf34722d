-- Who holds which part of a budget's `reserved` (lib/usage/lease.ts, "Holders"): each process registers a
-- holder, every reservation it takes adds to its holding of that budget and every release it makes takes
-- from it. A process that dies stops refreshing its holder's heartbeat, and any other process gives back
-- what it held: a killed process no longer leaves its leases reserved for good.
CREATE TABLE "budget_holders" (
  "id" UUID NOT NULL,
  "heartbeat_at" TIMESTAMPTZ(3) NOT NULL DEFAULT now(),
  "started_at" TIMESTAMPTZ(3) NOT NULL DEFAULT now(),
  CONSTRAINT "budget_holders_pkey" PRIMARY KEY ("id")
);
CREATE INDEX "budget_holders_heartbeat_at_idx" ON "budget_holders"("heartbeat_at");

-- No foreign key to budget_holders: a holder and its holdings are written and removed together, in one
-- statement each (the lease statement and the reap).
CREATE TABLE "budget_holdings" (
  "holder_id" UUID NOT NULL,
  "budget_id" UUID NOT NULL,
  "held" DOUBLE PRECISION NOT NULL DEFAULT 0,
  -- What the last settlement took off "held" (set and read back by that statement, lib/usage/queries.ts).
  "released" DOUBLE PRECISION NOT NULL DEFAULT 0,
  CONSTRAINT "budget_holdings_pkey" PRIMARY KEY ("holder_id", "budget_id"),
  CONSTRAINT "budget_holdings_budget_id_fkey" FOREIGN KEY ("budget_id") REFERENCES "budgets"("id") ON DELETE CASCADE ON UPDATE CASCADE
);
CREATE INDEX "budget_holdings_budget_id_idx" ON "budget_holdings"("budget_id");
