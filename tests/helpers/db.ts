// A fresh, migrated database per test file: a copy of a migrated template database on the real
// PostgreSQL of TEST_DATABASE_URL (fast: CREATE DATABASE … TEMPLATE), or an in-memory PGlite when no
// server is given. REQUIRE_POSTGRES=1 (CI) turns a missing server into a failure instead.
import { createHash, randomBytes } from "node:crypto";
import { cpSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import pg from "pg";
import { openPostgres, usePglite, type Db } from "@/lib/db/client";
import { openInMemory } from "@/lib/db/embedded";
import { applyMigrations, MIGRATIONS_DIR, readMigrations } from "@/lib/db/migrate";
import { pgliteRunner, pgRunner, type SqlRunner } from "@/lib/db/sql-runner";

export interface TestDb extends Db {
  /** Connection string of this database (PostgreSQL only), e.g. for child processes. */
  url?: string;
  name?: string;
  drop(): Promise<void>;
}

export function testServerUrl(): string | undefined {
  const url = process.env.TEST_DATABASE_URL;
  if (!url && process.env.REQUIRE_POSTGRES === "1") {
    throw new Error("REQUIRE_POSTGRES=1 but TEST_DATABASE_URL is not set: integration tests must run on PostgreSQL.");
  }
  return url || undefined;
}

function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

async function admin<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** Templates kept on a server: the current migration set's and those of the most recent other sets. */
const KEPT_TEMPLATES = 8;

/** The template database for the current set of migrations, created once (under a lock) per change. */
export async function ensureTemplate(serverUrl: string): Promise<string> {
  const migrations = await readMigrations();
  const digest = createHash("sha256").update(migrations.map((m) => m.name + m.checksum).join()).digest("hex").slice(0, 12);
  const name = `sot_tpl_${digest}`;
  await admin(serverUrl, async (c) => {
    await c.query("SELECT pg_advisory_lock(737001)");
    try {
      const exists = await c.query("SELECT 1 FROM pg_database WHERE datname = $1", [name]);
      if (exists.rowCount) return;
      const building = `${name}_building`;
      await c.query(`DROP DATABASE IF EXISTS ${building}`);
      await c.query(`CREATE DATABASE ${building}`);
      await admin(withDatabase(serverUrl, building), (t) => applyMigrations(pgRunner(t)));
      await c.query(`ALTER DATABASE ${building} RENAME TO ${name}`);
      // Templates of earlier migration sets are of no use any more — unless another checkout on the same
      // server (another branch) is testing with one right now: the newest few are kept (OIDs grow).
      const old = await c.query(
        `SELECT datname FROM pg_database WHERE datname LIKE 'sot_tpl_%' AND datname NOT LIKE '%_building' AND datname <> $1 ORDER BY oid DESC OFFSET $2`,
        [name, KEPT_TEMPLATES - 1],
      );
      for (const r of old.rows) await c.query(`DROP DATABASE IF EXISTS ${r.datname} WITH (FORCE)`).catch(() => {});
    } finally {
      await c.query("SELECT pg_advisory_unlock(737001)");
    }
  });
  return name;
}

/** A new empty database with every migration applied. */
export async function createTestDb(opts: { poolSize?: number } = {}): Promise<TestDb> {
  const server = testServerUrl();
  if (!server) {
    const db = await usePglite(await openInMemory());
    return { ...db, drop: () => db.close() };
  }
  const template = await ensureTemplate(server);
  const name = `sot_t_${randomBytes(6).toString("hex")}`;
  await admin(server, (c) => c.query(`CREATE DATABASE ${name} TEMPLATE ${template}`));
  const url = withDatabase(server, name);
  const db = await openPostgres(url, { poolSize: opts.poolSize ?? 5 });
  let dropped = false;
  return {
    ...db,
    url,
    name,
    async drop() {
      if (dropped) return;
      dropped = true;
      await db.close();
      await admin(server, (c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
    },
  };
}

/** An empty database without migrations (for migration-runner tests); PostgreSQL only. */
export async function createEmptyPostgres(): Promise<{ url: string; drop(): Promise<void> } | null> {
  const server = testServerUrl();
  if (!server) return null;
  const name = `sot_e_${randomBytes(6).toString("hex")}`;
  await admin(server, (c) => c.query(`CREATE DATABASE ${name}`));
  await admin(withDatabase(server, name), (c) => c.query("CREATE EXTENSION IF NOT EXISTS vector"));
  return {
    url: withDatabase(server, name),
    drop: () => admin(server, (c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).then(() => {}),
  };
}

/**
 * An empty database (PostgreSQL when a server is given, else PGlite) migrated up to just before the
 * migration whose name ends with `suffix`: a migration test stores rows as they were then, calls `applyIt()`
 * to run that migration, and checks what it made of them.
 */
export async function beforeMigration(suffix: string): Promise<{ sql: SqlRunner; applyIt(): Promise<void>; close(): Promise<void> }> {
  const all = await readMigrations();
  const mine = all.findIndex((m) => m.name.endsWith(suffix));
  if (mine <= 0) throw new Error(`no migration ending with ${suffix} after the first`);
  const empty = await createEmptyPostgres();
  const pglite = empty ? null : await openInMemory();
  const client = empty ? new pg.Client({ connectionString: empty.url }) : null;
  await client?.connect();
  const sql = client ? pgRunner(client) : pgliteRunner(pglite!);
  const dir = mkdtempSync(path.join(tmpdir(), "sot-mig-"));
  const copy = (name: string) => cpSync(path.join(MIGRATIONS_DIR, name), path.join(dir, name), { recursive: true });
  for (const m of all.slice(0, mine)) copy(m.name);
  await applyMigrations(sql, { dir });
  return {
    sql,
    async applyIt() {
      copy(all[mine]!.name);
      await applyMigrations(sql, { dir });
    },
    async close() {
      rmSync(dir, { recursive: true, force: true });
      await client?.end();
      await empty?.drop();
      await pglite?.close();
    },
  };
}
