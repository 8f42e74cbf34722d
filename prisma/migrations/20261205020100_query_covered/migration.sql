-- Whether an answer drew on the wiki (false: "the wiki does not cover this"), for the digest and the
-- Insights page. NULL for answers logged before this column existed.
ALTER TABLE query_logs ADD COLUMN covered boolean;
CREATE INDEX query_logs_not_covered ON query_logs (created_at) WHERE covered = false;
