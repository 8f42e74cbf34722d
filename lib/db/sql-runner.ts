// The smallest SQL interface the migration runner, health checks and the job queue need, over
// either a node-postgres pool or an in-process PGlite. Prisma is used for everything else.
import type { PGlite } from "@electric-sql/pglite";
import type { Client, Pool } from "pg";

export interface SqlRunner {
  /** One statement with $1-style parameters. */
  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
  /** A parameterless script of several statements (migrations). */
  exec(sql: string): Promise<void>;
}

/** Session-level statements (advisory locks) need a `Client`, not a `Pool`. */
export function pgRunner(pool: Pool | Client): SqlRunner {
  return {
    async query<T>(sql: string, params: unknown[] = []) {
      const res = await pool.query(sql, params as unknown[]);
      return res.rows as T[];
    },
    async exec(sql: string) {
      await pool.query(sql);
    },
  };
}

export function pgliteRunner(pg: PGlite): SqlRunner {
  return {
    async query<T>(sql: string, params: unknown[] = []) {
      const res = await pg.query<T>(sql, params as unknown[]);
      return res.rows;
    },
    async exec(sql: string) {
      await pg.exec(sql);
    },
  };
}
