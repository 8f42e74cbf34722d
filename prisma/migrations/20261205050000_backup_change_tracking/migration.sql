-- Change tracking for incremental backups: which rows changed since a snapshot, without reading every row.
--
-- Each backed-up table gets statement-level triggers (installed by the backup itself, so tables that later
-- migrations add are covered) that append the primary keys of the rows a statement inserted, updated or
-- deleted to backup_changes, stamped with the writing transaction's 64-bit id. A snapshot records its
-- transaction snapshot (pg_current_snapshot()); the next one takes exactly the entries whose transaction
-- that snapshot did not see. This is safe with concurrent writers, unlike a timestamp or sequence watermark:
-- a transaction that wrote before a snapshot but committed after it is invisible to that snapshot, so
-- the next one picks it up. Deletes leave their keys here too, so no scan is needed to find them.
CREATE TABLE "backup_changes" (
  "id" BIGSERIAL PRIMARY KEY,
  "xid" xid8 NOT NULL DEFAULT pg_current_xact_id(),
  "table_name" TEXT NOT NULL,
  -- The row's primary key as a JSON object, or NULL: the whole table (TRUNCATE, or a table without a key).
  "row_key" TEXT
);
CREATE INDEX "backup_changes_xid_idx" ON "backup_changes" ("xid");

-- One row: which database the log belongs to (a restored or copied database gets a new id, so a snapshot
-- of another database is never taken as the parent of an incremental one) and below which transaction id
-- the log has been pruned (a parent older than that cannot be built upon).
CREATE TABLE "backup_tracking" (
  "id" INTEGER PRIMARY KEY DEFAULT 1 CHECK ("id" = 1),
  "tracking_id" UUID NOT NULL DEFAULT gen_random_uuid(),
  "pruned_below" xid8
);
INSERT INTO "backup_tracking" ("id") VALUES (1);

-- TG_ARGV[0]: the expression giving a row's key as JSON text (built from the table's primary key by the
-- backup), or '' for a table without one. Statement-level with transition tables: a bulk write costs
-- one extra statement, not one per row.
CREATE FUNCTION sot_backup_track() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'TRUNCATE' OR TG_ARGV[0] = '' THEN
    INSERT INTO backup_changes (table_name, row_key) VALUES (TG_TABLE_NAME, NULL);
  ELSIF TG_OP = 'INSERT' THEN
    EXECUTE format('INSERT INTO backup_changes (table_name, row_key) SELECT DISTINCT %L, %s FROM sot_backup_new', TG_TABLE_NAME, TG_ARGV[0]);
  ELSIF TG_OP = 'DELETE' THEN
    EXECUTE format('INSERT INTO backup_changes (table_name, row_key) SELECT DISTINCT %L, %s FROM sot_backup_old', TG_TABLE_NAME, TG_ARGV[0]);
  ELSE
    EXECUTE format('INSERT INTO backup_changes (table_name, row_key) SELECT %L, k FROM (SELECT %s AS k FROM sot_backup_old UNION SELECT %s FROM sot_backup_new) u',
                   TG_TABLE_NAME, TG_ARGV[0], TG_ARGV[0]);
  END IF;
  RETURN NULL;
END $$;
