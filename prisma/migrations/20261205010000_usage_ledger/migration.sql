-- Guardrails for model use (lib/usage): the usage ledger, budgets with their closed windows, models an
-- admin exempted from budgets, and per-run limits on evaluation runs and imports.

-- One row per model call (chat, embed, judge, rewrite), on whose behalf it was made. No foreign keys:
-- the ledger outlives the users, keys, schedules and runs it names, and its insert is on the hot path.
CREATE TABLE "model_usage" (
  "id"                BIGSERIAL PRIMARY KEY,
  "at"                TIMESTAMPTZ(3) NOT NULL DEFAULT now(),
  "model"             TEXT NOT NULL,
  -- chat (answers), embed, judge, rewrite (follow-up questions)
  "op"                TEXT NOT NULL,
  "prompt_tokens"     INTEGER NOT NULL DEFAULT 0,
  "completion_tokens" INTEGER NOT NULL DEFAULT 0,
  -- Ollama's own prompt_eval_duration + eval_duration (embed: total_duration - load_duration), in seconds.
  "gpu_seconds"       DOUBLE PRECISION NOT NULL DEFAULT 0,
  -- load_duration: loading the model, kept apart from the work itself.
  "load_seconds"      DOUBLE PRECISION NOT NULL DEFAULT 0,
  "ok"                BOOLEAN NOT NULL DEFAULT true,
  -- user | api_key | system
  "principal_kind"    TEXT NOT NULL,
  "user_id"           UUID,
  "api_key_id"        UUID,
  "agent_id"          TEXT,
  "schedule_id"       UUID,
  "evaluation_run_id" UUID,
  "import_job_id"     UUID,
  -- The system work's name ("notion webhook", "demo wiki"), for calls no person or key made.
  "label"             TEXT
);
CREATE INDEX "model_usage_at_idx" ON "model_usage" ("at");
CREATE INDEX "model_usage_evaluation_run_id_idx" ON "model_usage" ("evaluation_run_id") WHERE "evaluation_run_id" IS NOT NULL;
CREATE INDEX "model_usage_import_job_id_idx" ON "model_usage" ("import_job_id") WHERE "import_job_id" IS NOT NULL;

-- A budget: a limit in tokens or GPU-seconds per day or month, for a user, a key, an agent, a schedule
-- or everything (global, scope_id ''). `used` counts settled calls of the current window, `reserved` the
-- estimated cost of calls in flight; `generation` changes whenever the window does, so a call reserved
-- in an older window never counts against the new one.
CREATE TABLE "budgets" (
  "id"             UUID NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY,
  "scope_kind"     TEXT NOT NULL,
  "scope_id"       TEXT NOT NULL DEFAULT '',
  "metric"         TEXT NOT NULL,
  "period"         TEXT NOT NULL,
  "limit_value"    DOUBLE PRECISION NOT NULL,
  "mode_threshold" DOUBLE PRECISION NOT NULL DEFAULT 0.8,
  "used"           DOUBLE PRECISION NOT NULL DEFAULT 0,
  "reserved"       DOUBLE PRECISION NOT NULL DEFAULT 0,
  "generation"     INTEGER NOT NULL DEFAULT 1,
  "window_start"   TIMESTAMPTZ(3) NOT NULL,
  "window_end"     TIMESTAMPTZ(3) NOT NULL,
  "created_by_id"  UUID,
  "created_at"     TIMESTAMPTZ(3) NOT NULL DEFAULT now(),
  "updated_at"     TIMESTAMPTZ(3) NOT NULL DEFAULT now(),
  CONSTRAINT "budgets_scope_kind_check" CHECK ("scope_kind" IN ('global', 'user', 'api_key', 'agent', 'schedule')),
  CONSTRAINT "budgets_scope_id_check" CHECK (("scope_kind" = 'global') = ("scope_id" = '')),
  CONSTRAINT "budgets_metric_check" CHECK ("metric" IN ('tokens', 'gpu_seconds')),
  CONSTRAINT "budgets_period_check" CHECK ("period" IN ('day', 'month')),
  CONSTRAINT "budgets_limit_check" CHECK ("limit_value" > 0),
  CONSTRAINT "budgets_mode_threshold_check" CHECK ("mode_threshold" > 0 AND "mode_threshold" <= 1)
);
CREATE UNIQUE INDEX "budgets_scope_metric_period_key" ON "budgets" ("scope_kind", "scope_id", "metric", "period");
CREATE INDEX "budgets_window_end_idx" ON "budgets" ("window_end");

-- Each closed window, written by the reset that closed it (its primary key makes a reset happen once).
CREATE TABLE "budget_windows" (
  "budget_id"    UUID NOT NULL REFERENCES "budgets" ("id") ON DELETE CASCADE,
  "window_start" TIMESTAMPTZ(3) NOT NULL,
  "window_end"   TIMESTAMPTZ(3) NOT NULL,
  "used"         DOUBLE PRECISION NOT NULL,
  "limit_value"  DOUBLE PRECISION NOT NULL,
  "closed_at"    TIMESTAMPTZ(3) NOT NULL DEFAULT now(),
  PRIMARY KEY ("budget_id", "window_start")
);

-- Models whose calls no budget counts (still recorded in the ledger).
CREATE TABLE "budget_exempt_models" (
  "model"         TEXT PRIMARY KEY,
  "created_by_id" UUID,
  "created_at"    TIMESTAMPTZ(3) NOT NULL DEFAULT now()
);

-- Per-run limits: null means the setting's default. A run that reaches one ends as 'stopped' (resumable).
ALTER TABLE "evaluation_runs"
  ADD COLUMN "max_model_calls" INTEGER,
  ADD COLUMN "max_retries" INTEGER,
  ADD COLUMN "max_runtime_seconds" INTEGER,
  ADD COLUMN "model_calls" INTEGER NOT NULL DEFAULT 0,
  ADD COLUMN "retries" INTEGER NOT NULL DEFAULT 0;
ALTER TABLE "evaluation_runs" DROP CONSTRAINT "evaluation_runs_status_check";
ALTER TABLE "evaluation_runs" ADD CONSTRAINT "evaluation_runs_status_check" CHECK ("status" IN ('queued', 'running', 'completed', 'failed', 'stopped'));

ALTER TABLE "import_jobs"
  ADD COLUMN "max_model_calls" INTEGER,
  ADD COLUMN "max_retries" INTEGER,
  ADD COLUMN "max_runtime_seconds" INTEGER,
  ADD COLUMN "model_calls" INTEGER NOT NULL DEFAULT 0,
  ADD COLUMN "retries" INTEGER NOT NULL DEFAULT 0;
ALTER TABLE "import_jobs" DROP CONSTRAINT "import_jobs_status_check";
ALTER TABLE "import_jobs" ADD CONSTRAINT "import_jobs_status_check" CHECK ("status" IN ('queued', 'running', 'succeeded', 'failed', 'stopped'));
