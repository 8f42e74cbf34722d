// The smallest SQL interface the migration runner, health checks, the job queue and the hot paths
// (ingest writes, retrieval) need, over either a node-postgres pool or an in-process PGlite. Prisma is
// used for everything else: on these paths its per-call cost is several times the statement's own.
import type { PGlite, Transaction } from "@electric-sql/pglite";
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

/** Session-level statements (advisory locks) need a `Client`, not a `Pool`. */
export function pgRunner(pool: Pool | Client): SqlRunner {
  const runner: SqlRunner = {
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
          const tx = pgRunner(client);
          const out = await fn({ ...tx, transaction: (inner) => inner(tx) });
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
  return runner;
}

function pgliteTxRunner(tx: Transaction): SqlRunner {
  const runner: SqlRunner = {
    query: async <T>(sql: string, params: unknown[] = []) => (await tx.query<T>(sql, params)).rows,
    exec: async (sql: string) => {
      await tx.exec(sql);
    },
    transaction: (fn) => fn(runner),
  };
  return runner;
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
    transaction: (fn) => pg.transaction((tx) => fn(pgliteTxRunner(tx))),
  };
}
