-- Rate-limit buckets are taken on every request. As a logged table each take waited for its commit's WAL
-- flush (about 5 ms on the reference machine) while holding the bucket's row lock, so concurrent requests
-- of one caller queued behind each other's fsync. The buckets need no durability: after a crash
-- PostgreSQL empties an unlogged table, which only means every bucket starts full again.
ALTER TABLE rate_limit_buckets SET UNLOGGED;
