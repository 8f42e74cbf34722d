// The ask path's SQL: figures read from the query log (its created_at index keeps them cheap however
// long the log grows).
import type { SqlRunner } from "../db/sql-runner";

/** Answers of the last hour by model and status, with their token sums. */
export function answersLastHour(
  sql: SqlRunner,
): Promise<Array<{ model: string | null; status: string; n: number; prompt: number | null; completion: number | null }>> {
  return sql<{ model: string | null; status: string; n: number; prompt: number | null; completion: number | null }>`
    SELECT model, status, count(*)::int AS n, sum(prompt_tokens)::float8 AS prompt, sum(completion_tokens)::float8 AS completion
    FROM query_logs WHERE created_at > now() - interval '1 hour' GROUP BY model, status`;
}

/** The timing stages of the query log's `timings` whose quantiles the metrics report. */
export const TIMING_STAGES = ["embedMs", "retrieveMs", "rerankMs", "firstTokenMs", "totalMs"] as const;
export const TIMING_QUANTILES = [0.5, 0.95] as const;

// Built once from the constants above: one column per stage and quantile, named "<stage>_<quantile>".
const TIMING_QUANTILES_SQL = `SELECT ${TIMING_STAGES.flatMap((s) =>
  TIMING_QUANTILES.map((q) => `percentile_cont(${q}) WITHIN GROUP (ORDER BY (timings->>'${s}')::float8) AS "${s}_${q}"`),
).join(", ")}
  FROM query_logs WHERE created_at > now() - interval '1 hour'`;

/** Quantiles of each timing stage over the last hour (null where no answer recorded the stage). */
export async function timingQuantilesLastHour(sql: SqlRunner): Promise<Record<string, number | null>> {
  const [row] = await sql.query<Record<string, number | null>>(TIMING_QUANTILES_SQL);
  return row ?? {};
}
