// The HTTP layer's SQL: the PostgreSQL rate-limit buckets.
import { prepared, sqlFragment, type SqlFragment, type SqlRunner } from "../db/sql-runner";

// A token bucket per key in one atomic statement: refill by the time since the last take, then take `cost`
// when there is enough. `level` is the bucket's level now: what it had, plus the refill since, capped at the
// burst. The database's clock decides, never the web process's. `keys` is a SELECT of the one key (or of
// none: then nothing is taken), so the same take can sit inside another statement (an agent's token
// statement takes its bucket, lib/agents/queries.ts).
export function bucketTake(keys: SqlFragment, ratePerSecond: number, burst: number, cost: number): SqlFragment {
  const rate = sqlFragment`${ratePerSecond}::float8`;
  const full = sqlFragment`${burst}::float8`;
  const take = sqlFragment`${cost}::float8`;
  const level = sqlFragment`least(${full}, b.tokens + greatest(0, extract(epoch FROM clock_timestamp() - b.updated_at)) * ${rate})`;
  return sqlFragment`
INSERT INTO rate_limit_buckets AS b (key, tokens, updated_at, full_at, granted)
SELECT k.key,
       CASE WHEN ${full} >= ${take} THEN ${full} - ${take} ELSE ${full} END,
       clock_timestamp(),
       clock_timestamp() + make_interval(secs => CASE WHEN ${full} >= ${take} THEN ${take} / ${rate} ELSE 0 END),
       ${full} >= ${take}
  FROM (${keys}) k(key)
ON CONFLICT (key) DO UPDATE SET
  tokens = CASE WHEN ${level} >= ${take} THEN ${level} - ${take} ELSE ${level} END,
  granted = ${level} >= ${take},
  updated_at = greatest(b.updated_at, clock_timestamp()),
  full_at = greatest(b.updated_at, clock_timestamp())
    + make_interval(secs => (${full} - CASE WHEN ${level} >= ${take} THEN ${level} - ${take} ELSE ${level} END) / ${rate})
RETURNING granted, tokens`;
}

/** Takes `cost` tokens from the key's bucket when it has them; `granted` says whether it did. */
export async function takeTokens(sql: SqlRunner, key: string, ratePerSecond: number, burst: number, cost: number): Promise<{ granted: boolean; tokens: number } | undefined> {
  // Prepared (planned once per connection): it runs on every request.
  const [row] = await prepared(sql)<{ granted: boolean; tokens: number }>`${bucketTake(sqlFragment`SELECT ${key}::text`, ratePerSecond, burst, cost)}`;
  return row;
}

/** A full bucket carries no information: its row can go. */
export async function deleteFullBuckets(sql: SqlRunner): Promise<void> {
  await sql`DELETE FROM rate_limit_buckets WHERE full_at < clock_timestamp()`;
}
