-- Rate-limit token buckets shared by every web process (lib/http/rate-limit.ts). One row per bucket
-- ("user:<id>", "key:<id>", "anon:<address>", "signin-email:<address>", …); each take is one atomic
-- INSERT … ON CONFLICT DO UPDATE. Rows of full buckets carry no information and are swept by full_at.
CREATE TABLE rate_limit_buckets (
  key        text PRIMARY KEY,
  tokens     double precision NOT NULL,
  updated_at timestamptz(3) NOT NULL DEFAULT now(),
  -- When the bucket will be full again (then the row can go).
  full_at    timestamptz(3) NOT NULL DEFAULT now(),
  -- Whether the latest take was granted (read back by the same statement).
  granted    boolean NOT NULL DEFAULT true
);
CREATE INDEX rate_limit_buckets_full_at_idx ON rate_limit_buckets (full_at);
