// Applies prisma/migrations/<timestamp>_<name>/migration.sql in order, keeping Prisma Migrate's own
// `_prisma_migrations` table (same columns, same SHA-256 checksums, same advisory lock), so that
// `prisma migrate deploy` and this runner can each take over a database the other started.
import { createHash, randomUUID } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import type { SqlRunner } from "./sql-runner";

export const MIGRATIONS_DIR = path.join(/* turbopackIgnore: true */ process.cwd(), "prisma", "migrations");
// Prisma Migrate takes this advisory lock around its work; taking the same one serialises us with it.
const PRISMA_ADVISORY_LOCK = 72707369;

export interface Migration {
  name: string;
  sql: string;
  checksum: string;
}

export interface MigrationStatus {
  applied: string[];
  pending: string[];
  /** Applied migrations whose file changed since (Prisma calls these "modified"). */
  modified: string[];
}

export async function readMigrations(dir = MIGRATIONS_DIR): Promise<Migration[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const names = entries
    .filter((e) => e.isDirectory() && /^\d{14}_[a-z0-9_]+$/.test(e.name))
    .map((e) => e.name)
    .sort();
  return Promise.all(
    names.map(async (name) => {
      const sql = await readFile(path.join(dir, name, "migration.sql"), "utf8");
      return { name, sql, checksum: createHash("sha256").update(sql).digest("hex") };
    }),
  );
}

const CREATE_TABLE = `
CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
  "id"                  VARCHAR(36) PRIMARY KEY NOT NULL,
  "checksum"            VARCHAR(64) NOT NULL,
  "finished_at"         TIMESTAMPTZ,
  "migration_name"      VARCHAR(255) NOT NULL,
  "logs"                TEXT,
  "rolled_back_at"      TIMESTAMPTZ,
  "started_at"          TIMESTAMPTZ NOT NULL DEFAULT now(),
  "applied_steps_count" INTEGER NOT NULL DEFAULT 0
)`;

type Row = { migration_name: string; checksum: string; finished_at: Date | null; rolled_back_at: Date | null };

async function appliedRows(db: SqlRunner): Promise<Row[]> {
  return db.query<Row>(
    `SELECT migration_name, checksum, finished_at, rolled_back_at FROM "_prisma_migrations" ORDER BY started_at`,
  );
}

export async function migrationStatus(db: SqlRunner, dir = MIGRATIONS_DIR): Promise<MigrationStatus> {
  const [files, rows] = await Promise.all([readMigrations(dir), tableExists(db).then((e) => (e ? appliedRows(db) : []))]);
  const done = new Map(rows.filter((r) => r.finished_at && !r.rolled_back_at).map((r) => [r.migration_name, r]));
  return {
    applied: files.filter((f) => done.has(f.name)).map((f) => f.name),
    pending: files.filter((f) => !done.has(f.name)).map((f) => f.name),
    modified: files.filter((f) => done.has(f.name) && done.get(f.name)!.checksum !== f.checksum).map((f) => f.name),
  };
}

async function tableExists(db: SqlRunner): Promise<boolean> {
  const rows = await db.query<{ exists: boolean }>(`SELECT to_regclass('"_prisma_migrations"') IS NOT NULL AS exists`);
  return rows[0]?.exists === true;
}

/**
 * Applies every pending migration, each in its own transaction together with its bookkeeping row,
 * so a failing migration leaves neither half its changes nor a row claiming it ran.
 */
export async function applyMigrations(
  db: SqlRunner,
  opts: { dir?: string; log?: (line: string) => void } = {},
): Promise<{ applied: string[] }> {
  const log = opts.log ?? (() => {});
  await db.query(`SELECT pg_advisory_lock(${PRISMA_ADVISORY_LOCK})`);
  try {
    await db.exec(CREATE_TABLE);
    const rows = await appliedRows(db);
    const unfinished = rows.find((r) => !r.finished_at && !r.rolled_back_at);
    if (unfinished) {
      throw new Error(
        `Migration ${unfinished.migration_name} started earlier and did not finish. ` +
          `Fix the database by hand, then mark it with \`prisma migrate resolve\`.`,
      );
    }
    const done = new Map(rows.filter((r) => r.finished_at && !r.rolled_back_at).map((r) => [r.migration_name, r]));
    const applied: string[] = [];
    for (const m of await readMigrations(opts.dir)) {
      const prev = done.get(m.name);
      if (prev) {
        if (prev.checksum !== m.checksum) log(`warning: migration ${m.name} was changed after it was applied`);
        continue;
      }
      const id = randomUUID();
      // One simple-protocol script: BEGIN … COMMIT; on error PostgreSQL aborts the whole transaction.
      const script =
        `BEGIN;\n${m.sql}\n;\n` +
        `INSERT INTO "_prisma_migrations" (id, checksum, finished_at, migration_name, applied_steps_count, started_at) ` +
        `VALUES ('${id}', '${m.checksum}', now(), '${m.name}', 1, now());\nCOMMIT;`;
      try {
        await db.exec(script);
      } catch (err) {
        await db.exec("ROLLBACK").catch(() => {});
        throw new Error(`Migration ${m.name} failed: ${(err as Error).message}`);
      }
      log(`applied migration ${m.name}`);
      applied.push(m.name);
    }
    return { applied };
  } finally {
    await db.query(`SELECT pg_advisory_unlock(${PRISMA_ADVISORY_LOCK})`);
  }
}
