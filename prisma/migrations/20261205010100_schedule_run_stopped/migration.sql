-- A schedule run whose evaluation run or import stopped at a run limit ends as 'stopped' too (not failed).
ALTER TABLE "schedule_runs" DROP CONSTRAINT "schedule_runs_status_check";
ALTER TABLE "schedule_runs" ADD CONSTRAINT "schedule_runs_status_check" CHECK ("status" IN ('running', 'succeeded', 'failed', 'stopped'));
