-- Scheduler: schedules (what runs and when) and schedule_runs (what happened; no wiki text or model output).
CREATE TABLE "schedules" (
  "id" UUID NOT NULL DEFAULT gen_random_uuid(),
  "name" TEXT NOT NULL,
  "target_kind" TEXT NOT NULL,
  "target_config" JSONB NOT NULL DEFAULT '{}',
  "enabled" BOOLEAN NOT NULL DEFAULT true,
  "interval_minutes" INTEGER,
  "cron" TEXT,
  "time_zone" TEXT NOT NULL DEFAULT 'UTC',
  "anchor_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
  "max_concurrent" INTEGER NOT NULL DEFAULT 1,
  "timeout_minutes" INTEGER NOT NULL DEFAULT 240,
  "last_run_at" TIMESTAMPTZ(3),
  "next_run_at" TIMESTAMPTZ(3),
  "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
  "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
  CONSTRAINT "schedules_pkey" PRIMARY KEY ("id"),
  CONSTRAINT "schedules_rule_check" CHECK (("interval_minutes" IS NULL) <> ("cron" IS NULL)),
  CONSTRAINT "schedules_interval_check" CHECK ("interval_minutes" IS NULL OR "interval_minutes" BETWEEN 1 AND 527040),
  CONSTRAINT "schedules_max_concurrent_check" CHECK ("max_concurrent" BETWEEN 1 AND 100),
  CONSTRAINT "schedules_timeout_check" CHECK ("timeout_minutes" BETWEEN 1 AND 10080)
);
CREATE INDEX "schedules_enabled_next_run_at_idx" ON "schedules"("enabled", "next_run_at");

CREATE TABLE "schedule_runs" (
  "id" UUID NOT NULL DEFAULT gen_random_uuid(),
  "schedule_id" UUID NOT NULL,
  "trigger" TEXT NOT NULL,
  "status" TEXT NOT NULL DEFAULT 'running',
  "due_at" TIMESTAMPTZ(3),
  "started_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
  "finished_at" TIMESTAMPTZ(3),
  "heartbeat_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
  "claimed_by" TEXT NOT NULL,
  "error" TEXT,
  "result_kind" TEXT,
  "result_id" TEXT,
  CONSTRAINT "schedule_runs_pkey" PRIMARY KEY ("id"),
  CONSTRAINT "schedule_runs_schedule_id_fkey" FOREIGN KEY ("schedule_id") REFERENCES "schedules"("id") ON DELETE CASCADE ON UPDATE CASCADE,
  CONSTRAINT "schedule_runs_trigger_check" CHECK ("trigger" IN ('schedule', 'manual')),
  CONSTRAINT "schedule_runs_status_check" CHECK ("status" IN ('running', 'succeeded', 'failed'))
);
-- One run per due time of a schedule, whatever the number of scheduler processes (manual runs have no due time).
CREATE UNIQUE INDEX "schedule_runs_schedule_id_due_at_key" ON "schedule_runs"("schedule_id", "due_at");
CREATE INDEX "schedule_runs_schedule_id_started_at_idx" ON "schedule_runs"("schedule_id", "started_at");
CREATE INDEX "schedule_runs_status_heartbeat_at_idx" ON "schedule_runs"("status", "heartbeat_at");
