// Key rotation's SQL: finding and rewriting encrypted secrets wherever they are stored. The tables and
// columns come from the catalog, so their names are quoted identifiers, never input.
import { q } from "../backup/catalog";
import type { SqlRunner } from "../db/sql-runner";

/** Every text column of the public schema's tables (where an encrypted secret may be stored). */
export function textColumns(s: SqlRunner): Promise<Array<{ table: string; column: string }>> {
  return s.query<{ table: string; column: string }>(
    `SELECT c.relname AS table, a.attname AS column FROM pg_attribute a
       JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
       WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated::text = ''
         AND a.atttypid IN ('text'::regtype, 'varchar'::regtype) ORDER BY 1, 2`,
  );
}

/** The distinct encrypted secrets (`sot:v1:` values) of a column that do not start with `keptPrefix`. */
export async function secretsNotUnder(s: SqlRunner, table: string, column: string, keptPrefix: string): Promise<string[]> {
  const rows = await s.query<{ v: string }>(
    `SELECT DISTINCT ${q(column)} AS v FROM public.${q(table)} WHERE ${q(column)} LIKE 'sot:v1:%' AND ${q(column)} NOT LIKE $1`,
    [`${keptPrefix}%`],
  );
  return rows.map((r) => r.v);
}

/** Replaces one stored secret value by another wherever the column holds it. */
export async function replaceSecret(s: SqlRunner, table: string, column: string, from: string, to: string): Promise<void> {
  await s.query(`UPDATE public.${q(table)} SET ${q(column)} = $2 WHERE ${q(column)} = $1`, [from, to]);
}
