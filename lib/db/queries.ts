// Database-wide facts read by the health page and the metrics: installed extensions, the job queue's table.
import type { SqlRunner } from "./sql-runner";

/** pgvector's installed version, or null. */
export async function vectorExtensionVersion(sql: SqlRunner): Promise<string | null> {
  const [row] = await sql<{ v: string | null }>`SELECT (SELECT extversion FROM pg_extension WHERE extname = 'vector') AS v`;
  return row?.v ?? null;
}

/** Jobs by queue and state, straight from pg-boss's table: every process's jobs, not just this one's. */
export function queueJobCounts(sql: SqlRunner): Promise<Array<{ name: string; state: string; n: number }>> {
  return sql<{ name: string; state: string; n: number }>`
    SELECT name, state::text AS state, count(*)::int AS n FROM pgboss.job
    WHERE state IN ('created','retry','active','failed') GROUP BY name, state`;
}
