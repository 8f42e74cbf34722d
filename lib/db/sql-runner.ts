// The project's one way to run raw SQL (vectors, full-text, locks, `FOR UPDATE SKIP LOCKED`, set-based
// writes), over either a node-postgres pool or an in-process PGlite. Prisma's model API serves plain
// reads and writes; raw statements live in one `queries.ts` per domain (the rule: CONTRIBUTING.md,
// "Data access"; tests/unit/data-access-rule.test.ts keeps it).
//
// Two call forms, both parameterised:
//   db.sql`SELECT … WHERE id = ${id}::uuid`   tagged: every `${}` becomes a $n parameter
//   db.sql.query(CONSTANT_SQL, [id])          a constant statement with explicit $n parameters
// and `db.sql.transaction(async (tx) => …)` gives the same runner on one connection inside a transaction.
import { createHash } from "node:crypto";
import type { PGlite } from "@electric-sql/pglite";
import type { Client, Pool, PoolClient } from "pg";

/**
 * Marks fragments by a registered symbol, not by class: the web process holds two copies of this module
 * (the bundled app's and the server's own, which opened the database), so a fragment made by one copy
 * must be recognised by the other, where `instanceof` would fail and send the fragment as a parameter.
 */
const FRAGMENT = Symbol.for("sot.sql-fragment");

/** A piece of SQL with its own parameters, spliced into a tagged statement (see `sqlFragment`). */
export class SqlFragment {
  readonly [FRAGMENT] = true;
  constructor(
    readonly strings: readonly string[],
    readonly values: readonly unknown[],
  ) {}
}

export const isSqlFragment = (v: unknown): v is SqlFragment => typeof v === "object" && v !== null && (v as { [FRAGMENT]?: unknown })[FRAGMENT] === true;

/** `sqlFragment\`AND x = ${v}\``: a reusable condition for tagged statements; its values stay parameters. */
export function sqlFragment(strings: TemplateStringsArray, ...values: unknown[]): SqlFragment {
  return new SqlFragment(strings, values);
}

/** Turns a tagged template into `$n` text and parameters (fragments spliced in, renumbered). */
export function toParameterised(strings: readonly string[], values: readonly unknown[]): { text: string; params: unknown[] } {
  const params: unknown[] = [];
  const render = (parts: readonly string[], vals: readonly unknown[]): string => {
    let text = parts[0];
    vals.forEach((v, i) => {
      if (isSqlFragment(v)) text += render(v.strings, v.values);
      else {
        params.push(v);
        text += `$${params.length}`;
      }
      text += parts[i + 1];
    });
    return text;
  };
  return { text: render(strings, values), params };
}

export interface QueryOptions {
  /**
   * Send it as a named prepared statement, planned once per connection (PostgreSQL; PGlite ignores it).
   * For hot statements whose planning costs more than their execution (a recursive CTE planned on every
   * call costs several times what it takes to run). Only for constant statement texts: each text is kept
   * prepared on every pooled connection.
   */
  prepare?: boolean;
}

export interface SqlRunner {
  /** A tagged statement: each `${value}` is sent as a parameter, never as text. */
  <T = Record<string, unknown>>(strings: TemplateStringsArray, ...values: unknown[]): Promise<T[]>;
  /** One statement with $1-style parameters. */
  query<T = Record<string, unknown>>(sql: string, params?: unknown[], opts?: QueryOptions): Promise<T[]>;
  /** A parameterless script of several statements (migrations). */
  exec(sql: string): Promise<void>;
  /**
   * Runs `fn` on one connection inside one transaction (SET LOCAL / set_config(…, true) settings,
   * several statements that commit together). Inside it, `transaction` just runs `fn` on the same one.
   */
  transaction<T>(fn: (tx: SqlRunner) => Promise<T>): Promise<T>;
}

/**
 * `prepared(sql)\`…\``: a tagged statement sent as a named prepared statement (QueryOptions.prepare).
 * Its text must not vary between calls (fragments are fine when they are the same on every call).
 */
export function prepared(sql: SqlRunner) {
  return <T = Record<string, unknown>>(strings: TemplateStringsArray, ...values: unknown[]): Promise<T[]> => {
    const { text, params } = toParameterised(strings, values);
    return sql.query<T>(text, params, { prepare: true });
  };
}

const isPool = (p: Pool | Client): p is Pool => typeof (p as Pool).totalCount === "number";

type Parts = Pick<SqlRunner, "query" | "exec" | "transaction">;

/** Gives a runner's parts the tagged call form. */
function runner(parts: Parts): SqlRunner {
  const tagged = <T>(strings: TemplateStringsArray, ...values: unknown[]) => {
    const { text, params } = toParameterised(strings, values);
    return parts.query<T>(text, params);
  };
  return Object.assign(tagged, parts) as SqlRunner;
}

/** A runner inside an open transaction: a nested `transaction` joins it. */
function inTransaction(query: SqlRunner["query"], exec: SqlRunner["exec"]): SqlRunner {
  const self: SqlRunner = runner({ query, exec, transaction: (fn) => fn(self) });
  return self;
}

// Prepared statements are named by their text, so one text is one name on every connection.
const statementNames = new Map<string, string>();
/** Texts whose prepared form stopped working (a migration changed a table it returns `*` of): sent unnamed. */
const unpreparable = new Set<string>();
function statementName(text: string): string {
  let name = statementNames.get(text);
  if (!name) statementNames.set(text, (name = `sot_${createHash("sha256").update(text).digest("hex").slice(0, 24)}`));
  return name;
}

async function pgQuery(on: Pool | Client | PoolClient, text: string, params: unknown[], opts?: QueryOptions) {
  if (!opts?.prepare || unpreparable.has(text)) return on.query(text, params);
  try {
    return await on.query({ text, values: params, name: statementName(text) });
  } catch (err) {
    // "cached plan must not change result type": the table changed under the prepared statement.
    if ((err as { code?: string }).code !== "0A000") throw err;
    unpreparable.add(text);
    return on.query(text, params);
  }
}

/** Session-level statements (advisory locks) need a `Client`, not a `Pool`. */
export function pgRunner(pool: Pool | Client): SqlRunner {
  return runner({
    async query<T>(sql: string, params: unknown[] = [], opts?: QueryOptions) {
      const res = await pgQuery(pool, sql, params, opts);
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
              async <R>(sql: string, params: unknown[] = [], opts?: QueryOptions) => (await pgQuery(client, sql, params, opts)).rows as R[],
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
  });
}

export function pgliteRunner(pg: PGlite): SqlRunner {
  return runner({
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
  });
}
