// One database handle per process: Prisma over node-postgres (DATABASE_URL) or over PGlite (embedded).
// Kept on globalThis because Next.js may load this module more than once (server, route bundles,
// instrumentation) and there must be only one pool — and, for PGlite, only one owner of the data folder.
import type { PGlite } from "@electric-sql/pglite";
import { PrismaPg } from "@prisma/adapter-pg";
import pg from "pg";
import { PrismaPGlite } from "pglite-prisma-adapter";
import { getConfig } from "../config";
import { openEmbedded } from "./embedded";
import { PrismaClient } from "./generated/client";
import { applyMigrations } from "./migrate";
import { pgliteRunner, pgRunner, type SqlRunner } from "./sql-runner";

export type { PrismaClient } from "./generated/client";

export interface Db {
  kind: "postgres" | "pglite";
  prisma: PrismaClient;
  /** Plain SQL for the queue, health and migrations. */
  sql: SqlRunner;
  /** The in-process database, on the embedded default only. */
  pglite?: PGlite;
  /** The connection string, on PostgreSQL only (pg-boss opens its own pool). */
  url?: string;
  /** Settings every connection of this handle starts with (see `SessionSettings`). */
  sessionSettings?: SessionSettings;
  close(): Promise<void>;
}

/**
 * Server settings a handle's connections start with, as if `SET` had run first. The process's handle
 * starts with the vector search's settings (`searchSessionSettings`), so a search whose settings match
 * is one statement instead of BEGIN, set_config, the statement and COMMIT — four round trips, each a
 * wait for a core when many questions arrive at once.
 */
export type SessionSettings = Readonly<Record<string, string>>;

const SETTING = /^[a-z_][a-z0-9_.]*$/i;
const SETTING_VALUE = /^[a-z0-9_.-]+$/i;
function checkedSettings(settings: SessionSettings): Array<[string, string]> {
  const entries = Object.entries(settings);
  for (const [k, v] of entries) {
    // Passed in the connection's startup options, where spaces and backslashes would need escaping.
    if (!SETTING.test(k) || !SETTING_VALUE.test(v)) throw new Error(`session setting ${k}=${v} is not a plain name and value`);
  }
  return entries;
}

/**
 * Runs `fn` on a connection of its own that holds a session-level advisory lock, or returns null at once
 * when another session holds it. For work that cannot run inside a transaction (CREATE INDEX
 * CONCURRENTLY) yet must not run twice at once: the lock ends with the connection, also when the process dies.
 */
export async function withSessionLock<T>(url: string, key: number, fn: (sql: SqlRunner) => Promise<T>): Promise<{ result: T } | null> {
  return withOwnConnection(url, async (sql) => {
    const [{ got }] = await sql<{ got: boolean }>`SELECT pg_try_advisory_lock(${key}) AS got`;
    return got ? { result: await fn(sql) } : null;
  }); // closing the connection releases the lock with the session
}

/** Runs `fn` on a connection of its own (not the pool's), closed afterwards: for session-level state such as advisory locks. */
async function withOwnConnection<T>(url: string, fn: (sql: SqlRunner) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(pgRunner(client));
  } finally {
    await client.end();
  }
}

/** Opens PostgreSQL, applying pending migrations when asked. */
export async function openPostgres(
  url: string,
  opts: { poolSize?: number; migrate?: boolean; log?: (l: string) => void; sessionSettings?: SessionSettings } = {},
): Promise<Db> {
  if (opts.migrate) {
    // Migrations take a session-level advisory lock: use one dedicated connection.
    await withOwnConnection(url, (sql) => applyMigrations(sql, { log: opts.log }));
  }
  // Idle connections are never closed (node-postgres closes them after 10 s by default): a fresh
  // backend pays for loading pgvector, warming its catalog caches and mapping the shared buffers page by
  // page — one page fault per page it touches first, expensive on a virtual machine (docs/scale.md, "Page
  // faults") — which a burst of questions after a quiet spell would feel as slow answers. `max` bounds
  // them; idle clients do not keep a finished script alive.
  const settings = checkedSettings(opts.sessionSettings ?? {});
  const pool = new pg.Pool({
    connectionString: url,
    max: opts.poolSize ?? 10,
    idleTimeoutMillis: 0,
    allowExitOnIdle: true,
    ...(settings.length ? { options: settings.map(([k, v]) => `-c ${k}=${v}`).join(" ") } : {}),
  });
  pool.on("error", () => {}); // an idle client's network error must not crash the process
  const prisma = new PrismaClient({ adapter: new PrismaPg(pool) });
  return withClose(
    { kind: "postgres", prisma, sql: pgRunner(pool), url, ...(settings.length ? { sessionSettings: Object.fromEntries(settings) } : {}) },
    async () => {
      await prisma.$disconnect();
      await pool.end().catch(() => {});
    },
  );
}

/** Wraps an open PGlite (embedded folder or in-memory), applying pending migrations. */
export async function usePglite(
  pglite: PGlite,
  opts: { release?: () => void; log?: (l: string) => void; sessionSettings?: SessionSettings } = {},
): Promise<Db> {
  const sql = pgliteRunner(pglite);
  await applyMigrations(sql, { log: opts.log });
  // One connection: the session's settings are set once.
  const settings = checkedSettings(opts.sessionSettings ?? {});
  for (const [k, v] of settings) await sql.query(`SELECT set_config($1, $2, false)`, [k, v]);
  const prisma = new PrismaClient({ adapter: new PrismaPGlite(pglite) });
  return withClose({ kind: "pglite", prisma, sql, pglite, ...(settings.length ? { sessionSettings: Object.fromEntries(settings) } : {}) }, async () => {
    await prisma.$disconnect();
    await pglite.close();
    opts.release?.();
  });
}

const KEY = Symbol.for("sot.db");
type Holder = typeof globalThis & { [KEY]?: Promise<Db> };

/**
 * The vector search's settings (lib/retrieve/search.ts sets the same ones per statement where they
 * differ): HNSW's candidate list, and iterative scans so a collection filter still yields k rows.
 */
export function searchSessionSettings(config: { RETRIEVE_EF_SEARCH: number }): SessionSettings {
  return { "hnsw.ef_search": String(config.RETRIEVE_EF_SEARCH), "hnsw.iterative_scan": "relaxed_order" };
}

/**
 * The process's database. PostgreSQL is migrated by `npm run db:migrate` (or by the web process at
 * start); the embedded database is migrated when it is opened.
 */
export function getDb(): Promise<Db> {
  const g = globalThis as Holder;
  if (!g[KEY]) {
    const config = getConfig();
    g[KEY] = (
      config.DATABASE_URL
        ? openPostgres(config.DATABASE_URL, { poolSize: config.DATABASE_POOL_SIZE, sessionSettings: searchSessionSettings(config) })
        : openEmbedded(config.DATA_DIR).then(({ pglite, release }) => usePglite(pglite, { release, sessionSettings: searchSessionSettings(config) }))
    ).catch((err) => {
      delete g[KEY]; // let a later call retry (e.g. PostgreSQL was down at first)
      throw err;
    });
  }
  return g[KEY]!;
}

/**
 * The process's database if something opened it already, else null: for work that must never open one
 * by itself (a notification raised inside the model client of a process without a database).
 */
export function openedDb(): Promise<Db> | null {
  return (globalThis as Holder)[KEY] ?? null;
}

/** Installs an already-open handle as the process's database (start-up code and tests). */
export function setDb(db: Db): void {
  (globalThis as Holder)[KEY] = Promise.resolve(db);
}

// What must reach the database before a handle closes, registered by the modules that keep work in memory
// (the usage writer's queue and the budget leases, lib/usage/meter.ts), run by every handle's close() and so
// by closeDb(): a command, or a test's second handle, would otherwise drop its last ledger rows (the writer
// may be holding them for its window) and leave its leases reserved.
const BEFORE_CLOSE = Symbol.for("sot.dbBeforeClose");
type BeforeCloseHolder = typeof globalThis & { [BEFORE_CLOSE]?: Set<(db: Db) => Promise<void>> };
export function beforeDbClose(fn: (db: Db) => Promise<void>): void {
  ((globalThis as BeforeCloseHolder)[BEFORE_CLOSE] ??= new Set()).add(fn);
}

/** The handle with its close(): the before-close hooks first (for this handle), then `close` itself, once. */
function withClose(handle: Omit<Db, "close">, close: () => Promise<void>): Db {
  let closed: Promise<void> | null = null;
  const db: Db = {
    ...handle,
    close: () =>
      (closed ??= (async () => {
        for (const fn of (globalThis as BeforeCloseHolder)[BEFORE_CLOSE] ?? []) {
          await fn(db).catch(() => {}); // each hook logs its own failures; closing goes on
        }
        await close();
      })()),
  };
  return db;
}

export async function closeDb(): Promise<void> {
  const g = globalThis as Holder;
  const p = g[KEY];
  const db = p ? await p.catch(() => null) : null;
  try {
    // The hooks still find this handle as the process's database while they run.
    if (db) await db.close();
  } finally {
    if (g[KEY] === p) delete g[KEY];
  }
}
