-- The access context (lib/access/context.ts).
-- Sessions carry the user's session version; sign-out, a password or role change and disabling the
-- user raise it, which ends every session of that user at once (on every web process).
ALTER TABLE "users" ADD COLUMN "session_version" INTEGER NOT NULL DEFAULT 0;

-- A key made with another key: it expires no later than its parent and dies with it.
ALTER TABLE "api_keys" ADD COLUMN "parent_key_id" UUID;
ALTER TABLE "api_keys" ADD CONSTRAINT "api_keys_parent_key_id_fkey"
  FOREIGN KEY ("parent_key_id") REFERENCES "api_keys"("id") ON DELETE CASCADE ON UPDATE CASCADE;
CREATE INDEX "api_keys_parent_key_id_idx" ON "api_keys"("parent_key_id");

-- A conversation belongs to exactly one principal: its user, or (when started with a key) that key.
ALTER TABLE "conversations" ADD COLUMN "api_key_id" UUID;
ALTER TABLE "conversations" ADD CONSTRAINT "conversations_api_key_id_fkey"
  FOREIGN KEY ("api_key_id") REFERENCES "api_keys"("id") ON DELETE CASCADE ON UPDATE CASCADE;
CREATE INDEX "conversations_api_key_id_updated_at_idx" ON "conversations"("api_key_id", "updated_at");
