-- Circuit breakers per schedule: a schedule's own limits (null: the RUN_MAX_* setting; 0: no limit), given
-- to the evaluation run or import each of its runs starts and to the schedule run's own work.
ALTER TABLE "schedules"
  ADD COLUMN "max_model_calls" INTEGER,
  ADD COLUMN "max_retries" INTEGER,
  ADD COLUMN "max_runtime_seconds" INTEGER;
ALTER TABLE "schedules" ADD CONSTRAINT "schedules_limits_check" CHECK (
  ("max_model_calls" IS NULL OR "max_model_calls" >= 0) AND ("max_retries" IS NULL OR "max_retries" >= 0)
  AND ("max_runtime_seconds" IS NULL OR "max_runtime_seconds" >= 0));
