-- Circuit breakers per agent token: at most so many calls made with it and so many of them refused or
-- failed (null: no limit); its runtime is its expiry. Calls through a delegated token count on every link
-- of its chain. A token that reached a limit is stopped (429) until its owner or an admin resumes it.
ALTER TABLE "agent_tokens"
  ADD COLUMN "max_calls" INTEGER,
  ADD COLUMN "max_failures" INTEGER,
  ADD COLUMN "calls" INTEGER NOT NULL DEFAULT 0,
  ADD COLUMN "failures" INTEGER NOT NULL DEFAULT 0;
ALTER TABLE "agent_tokens" ADD CONSTRAINT "agent_tokens_limits_check" CHECK (
  ("max_calls" IS NULL OR "max_calls" >= 0) AND ("max_failures" IS NULL OR "max_failures" >= 0));
