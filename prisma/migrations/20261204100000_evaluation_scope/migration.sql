-- Evaluation objects carry scope (lib/evaluate/scope.ts): a dataset has an owner and the collections its
-- questions are asked over; a run is bound to the collections it asked over and to the principal (user
-- or key) that started it; an external output to the collections its passages may come from. A record
-- is shown only to viewers who may read every one of its collections.
--
-- Backfill of existing rows (the conservative choice, since what they read cannot be reconstructed):
-- datasets, runs and external outputs are bound to every collection that exists now, so only admins and
-- people who may read every collection see them until an admin narrows a dataset's collections (new runs
-- of it follow). A dataset's owner is its creator. Runs that had not started yet keep their creator
-- (a run without one, as schedules used to start, fails closed when it runs).

ALTER TABLE "datasets" ADD COLUMN "owner_id" UUID;
ALTER TABLE "datasets" ADD CONSTRAINT "datasets_owner_id_fkey"
  FOREIGN KEY ("owner_id") REFERENCES "users"("id") ON DELETE SET NULL ON UPDATE CASCADE;
ALTER TABLE "datasets" ADD COLUMN "collection_ids" UUID[] NOT NULL DEFAULT ARRAY[]::UUID[];
UPDATE "datasets" SET "owner_id" = "created_by_id",
  "collection_ids" = ARRAY(SELECT "id" FROM "collections" ORDER BY "created_at", "id");

-- The run's principal: created_by_id (the user, or the key's creator) and, when a key started it, the key.
-- No foreign key on the key: a deleted key must leave its id behind so the run fails closed instead of
-- running as the key's creator.
ALTER TABLE "evaluation_runs" ADD COLUMN "api_key_id" UUID;
ALTER TABLE "evaluation_runs" ADD COLUMN "collection_ids" UUID[] NOT NULL DEFAULT ARRAY[]::UUID[];
UPDATE "evaluation_runs" SET "collection_ids" = ARRAY(SELECT "id" FROM "collections" ORDER BY "created_at", "id");

ALTER TABLE "external_outputs" ADD COLUMN "collection_ids" UUID[] NOT NULL DEFAULT ARRAY[]::UUID[];
UPDATE "external_outputs" SET "collection_ids" = ARRAY(SELECT "id" FROM "collections" ORDER BY "created_at", "id");

-- Schedules run as a named user (chosen by an admin; default: whoever created the schedule). Existing
-- schedules get their creator from the audit log, else the longest-standing active admin; a schedule
-- whose user is deleted has none and its runs fail with a clear error until an admin picks one.
ALTER TABLE "schedules" ADD COLUMN "run_as_user_id" UUID;
ALTER TABLE "schedules" ADD CONSTRAINT "schedules_run_as_user_id_fkey"
  FOREIGN KEY ("run_as_user_id") REFERENCES "users"("id") ON DELETE SET NULL ON UPDATE CASCADE;
UPDATE "schedules" s SET "run_as_user_id" = c."actor_user_id"
FROM (
  SELECT DISTINCT ON ("target") "target", "actor_user_id"
  FROM "audit_log"
  WHERE "action" = 'schedule.create' AND "actor_user_id" IS NOT NULL
  ORDER BY "target", "at"
) c
JOIN "users" u ON u."id" = c."actor_user_id"
WHERE c."target" = 'schedule:' || s."id"::text;
UPDATE "schedules" SET "run_as_user_id" = (
  SELECT "id" FROM "users" WHERE "role" = 'admin' AND "disabled_at" IS NULL ORDER BY "created_at", "id" LIMIT 1
) WHERE "run_as_user_id" IS NULL;

-- The annotation queue and "recent questions" read a person's own logged answers.
CREATE INDEX "query_logs_user_id_created_at_idx" ON "query_logs"("user_id", "created_at");
