// The HTTP layer's SQL: the PostgreSQL rate-limit buckets.
import type { SqlRunner } from "../db/sql-runner";

// A token bucket per key in one atomic statement: refill by the time since the last take, then take `cost`
// when there is enough ($1 key, $2 tokens per second, $3 burst, $4 cost). LEVEL is the bucket's level now: what
// it had, plus the refill since, capped at the burst. The database's clock decides, never the web process's,
// read once per statement (statement_timestamp(); clock_timestamp() is read anew at each use, so the new level
// and the new updated_at would come from two moments). A take that waited for another's row lock reads a
// moment before that take's: it sees no refill (greatest(0, …)) and leaves updated_at where it was. The times
// are kept to the microsecond: kept to the millisecond, they were rounded into the future half the time, and
// the clamp at zero turned that rounding into tokens beyond the rate (migration 20261205140000).
const LEVEL = `least($3::float8, b.tokens + greatest(0, extract(epoch FROM statement_timestamp() - b.updated_at)) * $2::float8)`;
const TAKE_SQL = `
INSERT INTO rate_limit_buckets AS b (key, tokens, updated_at, full_at, granted)
VALUES (
  $1,
  CASE WHEN $3::float8 >= $4::float8 THEN $3::float8 - $4::float8 ELSE $3::float8 END,
  statement_timestamp(),
  statement_timestamp() + make_interval(secs => CASE WHEN $3::float8 >= $4::float8 THEN $4::float8 / $2::float8 ELSE 0 END),
  $3::float8 >= $4::float8
)
ON CONFLICT (key) DO UPDATE SET
  tokens = CASE WHEN ${LEVEL} >= $4::float8 THEN ${LEVEL} - $4::float8 ELSE ${LEVEL} END,
  granted = ${LEVEL} >= $4::float8,
  updated_at = greatest(b.updated_at, statement_timestamp()),
  full_at = greatest(b.updated_at, statement_timestamp())
    + make_interval(secs => ($3::float8 - CASE WHEN ${LEVEL} >= $4::float8 THEN ${LEVEL} - $4::float8 ELSE ${LEVEL} END) / $2::float8)
RETURNING granted, tokens`;

/** Takes `cost` tokens from the key's bucket when it has them; `granted` says whether it did. */
export async function takeTokens(sql: SqlRunner, key: string, ratePerSecond: number, burst: number, cost: number): Promise<{ granted: boolean; tokens: number } | undefined> {
  // Prepared (planned once per connection): it runs on every request.
  const [row] = await sql.query<{ granted: boolean; tokens: number }>(TAKE_SQL, [key, ratePerSecond, burst, cost], { prepare: true });
  return row;
}

/** A full bucket carries no information: its row can go. */
export async function deleteFullBuckets(sql: SqlRunner): Promise<void> {
  await sql`DELETE FROM rate_limit_buckets WHERE full_at < clock_timestamp()`;
}
