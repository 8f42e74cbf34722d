-- Backups: one row per backup attempt (progress while it runs, then its outcome). The snapshots
-- themselves live in the backup target; this table is history and is itself never backed up.
CREATE TABLE "backups" (
  "id" UUID NOT NULL DEFAULT gen_random_uuid(),
  "trigger" TEXT NOT NULL,
  "schedule_run_id" UUID,
  "status" TEXT NOT NULL DEFAULT 'queued',
  "phase" TEXT NOT NULL DEFAULT 'queued',
  "target" TEXT NOT NULL,
  "snapshot_id" TEXT,
  "rows_total" INTEGER NOT NULL DEFAULT 0,
  "rows_done" INTEGER NOT NULL DEFAULT 0,
  "objects_total" INTEGER NOT NULL DEFAULT 0,
  "objects_uploaded" INTEGER NOT NULL DEFAULT 0,
  "bytes_total" BIGINT NOT NULL DEFAULT 0,
  "bytes_uploaded" BIGINT NOT NULL DEFAULT 0,
  "snapshots_deleted" INTEGER NOT NULL DEFAULT 0,
  "objects_swept" INTEGER NOT NULL DEFAULT 0,
  "error" TEXT,
  "started_at" TIMESTAMPTZ(3),
  "finished_at" TIMESTAMPTZ(3),
  "heartbeat_at" TIMESTAMPTZ(3),
  "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
  CONSTRAINT "backups_pkey" PRIMARY KEY ("id"),
  CONSTRAINT "backups_trigger_check" CHECK ("trigger" IN ('manual', 'schedule', 'cli')),
  CONSTRAINT "backups_status_check" CHECK ("status" IN ('queued', 'running', 'succeeded', 'failed'))
);
CREATE INDEX "backups_created_at_idx" ON "backups"("created_at");
CREATE INDEX "backups_status_idx" ON "backups"("status");
