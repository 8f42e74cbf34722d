-- The schedule run that started an import (a reconcile or S3 sync on a schedule), so the import's model calls
-- are recorded for that schedule in the usage ledger, as an evaluation run's are.
ALTER TABLE "import_jobs" ADD COLUMN "schedule_run_id" UUID;
