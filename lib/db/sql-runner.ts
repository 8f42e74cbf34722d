// The smallest SQL interface the migration runner, health checks, the job queue and the hot paths
// (ingest writes, retrieval) need, over either a node-postgres pool or an in-process PGlite. Prisma is
// used for everything else: on these paths its per-call cost is several times the statement's own.
import type { PGlite } from "@electric-sql/pglite";
import type { Client, Pool, PoolClient } from "pg";

export interface SqlRunner {
  /** One statement with $1-style parameters. */
  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
  /** A parameterless script of several statements (migrations). */
  exec(sql: string): Promise<void>;
  /**
   * Runs `fn` on one connection inside one transaction (SET LOCAL / set_config(…, true) settings,
   * several statements that commit together). Inside it, `transaction` just runs `fn` on the same one.
   */
  transaction<T>(fn: (tx: SqlRunner) => Promise<T>): Promise<T>;
}

const isPool = (p: Pool | Client): p is Pool => typeof (p as Pool).totalCount === "number";

/** A runner inside an open transaction: a nested `transaction` joins it. */
function inTransaction(query: SqlRunner["query"], exec: SqlRunner["exec"]): SqlRunner {
  const runner: SqlRunner = { query, exec, transaction: (fn) => fn(runner) };
  return runner;
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
    async transaction<T>(fn: (tx: SqlRunner) => Promise<T>) {
      const client: Client | PoolClient = isPool(pool) ? await pool.connect() : pool;
      let broken = false;
      try {
        await client.query("BEGIN");
        try {
          const out = await fn(
            inTransaction(
              async <R>(sql: string, params: unknown[] = []) => (await client.query(sql, params)).rows as R[],
              async (sql) => {
                await client.query(sql);
              },
            ),
          );
          await client.query("COMMIT");
          return out;
        } catch (err) {
          await client.query("ROLLBACK").catch(() => {
            broken = true; // a connection that cannot roll back must not go back to the pool
          });
          throw err;
        }
      } finally {
        if (client !== pool) (client as PoolClient).release(broken);
      }
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
    // PGlite's transaction holds the instance's lock: no other query of the process slips into it.
    transaction: (fn) =>
      pg.transaction((tx) =>
        fn(
          inTransaction(
            async <R>(sql: string, params: unknown[] = []) => (await tx.query<R>(sql, params)).rows,
            async (sql) => {
              await tx.exec(sql);
            },
          ),
        ),
      ),
  };
}
