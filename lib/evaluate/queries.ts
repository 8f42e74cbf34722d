// Evaluation's SQL.
import type { SqlRunner } from "../db/sql-runner";

/** The last completed evaluation run's averages (for the metrics), or none. */
export function lastCompletedRunScores(
  sql: SqlRunner,
): Promise<Array<{ avg_hallucination: number | null; avg_faithfulness: number | null; finished_at: Date }>> {
  return sql<{ avg_hallucination: number | null; avg_faithfulness: number | null; finished_at: Date }>`
    SELECT avg_hallucination, avg_faithfulness, finished_at FROM evaluation_runs
    WHERE status = 'completed' AND avg_hallucination IS NOT NULL ORDER BY finished_at DESC NULLS LAST LIMIT 1`;
}
