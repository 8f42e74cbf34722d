-- A bucket's refill is the time since its last take times its rate. Kept to the millisecond, updated_at was
-- rounded, up to half a millisecond into the future half the time; the next take within that half
-- millisecond saw a negative time, counted as none (greatest(0, …)), so the rounding never evened out: a
-- bucket taken from hundreds of times a second granted a few tokens beyond its rate. To the microsecond
-- (PostgreSQL's own precision) the error is a thousand times smaller.
ALTER TABLE rate_limit_buckets
  ALTER COLUMN updated_at TYPE timestamptz(6),
  ALTER COLUMN full_at TYPE timestamptz(6);
