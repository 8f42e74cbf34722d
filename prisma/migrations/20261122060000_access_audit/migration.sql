-- Audit log of admin actions: who (user and/or key, with a label kept even after the actor is
-- deleted), what (action + target), when. Rows are only ever inserted; no foreign keys, so deleting a
-- user or key never rewrites history.
CREATE TABLE "audit_log" (
  "id" UUID NOT NULL DEFAULT gen_random_uuid(),
  "at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
  "actor_user_id" UUID,
  "actor_api_key_id" UUID,
  "actor_label" TEXT NOT NULL,
  "action" TEXT NOT NULL,
  "target" TEXT NOT NULL DEFAULT '',
  "details" JSONB NOT NULL DEFAULT '{}',
  "request_id" TEXT,
  CONSTRAINT "audit_log_pkey" PRIMARY KEY ("id")
);
CREATE INDEX "audit_log_at_idx" ON "audit_log"("at");
CREATE INDEX "audit_log_action_idx" ON "audit_log"("action");
