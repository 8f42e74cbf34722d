// What a snapshot contains, read from the database catalog rather than from a hard-coded list: every
// table of the public schema except bookkeeping (migrations are recorded as a level, backup history
// and the change log describe backups, queue internals are transient), in foreign-key order, so tables
// other areas add later are backed up and restored without anyone touching this file.
import pg from "pg";
import type { Db } from "../db/client";
import { pgliteRunner, pgRunner, type SqlRunner } from "../db/sql-runner";
import { beginSnapshotRead, catalogRows } from "./queries";

export { q, rowSelectSql } from "./queries";

/** Tables never copied: the migration level is stored separately; backup history and change tracking are not data. */
export const EXCLUDED_TABLES = new Set(["_prisma_migrations", "backups", "backup_changes", "backup_tracking"]);
const EXCLUDED_PATTERN = /^(pgboss|_)/; // queue internals or private tables, should any live in public

export interface ColumnInfo {
  name: string;
  /** format_type(), e.g. "vector(768)", "timestamp(3) with time zone". */
  type: string;
  typname: string;
}

export interface TableInfo {
  name: string;
  /** Columns that hold data: generated columns are recomputed on insert and are not copied. */
  columns: ColumnInfo[];
  primaryKey: string[];
  /** Tables this one references (foreign keys), itself excluded. */
  parents: string[];
  /** Whether the table has generated columns (left out of `columns`). */
  hasGenerated?: boolean;
}

export async function readCatalog(s: SqlRunner): Promise<TableInfo[]> {
  const { tables, columns: cols, constraints: cons } = await catalogRows(s);
  const kept = tables.filter((t) => !EXCLUDED_TABLES.has(t.name) && !EXCLUDED_PATTERN.test(t.name));
  const nameOf = new Map(tables.map((t) => [t.oid, t.name]));
  const infos: TableInfo[] = kept.map((t) => ({
    name: t.name,
    columns: cols.filter((c) => c.rel === t.oid && c.generated === "").map(({ name, type, typname }) => ({ name, type, typname })),
    hasGenerated: cols.some((c) => c.rel === t.oid && c.generated !== ""),
    primaryKey: cons.find((c) => c.rel === t.oid && c.contype === "p")?.cols ?? [],
    parents: [
      ...new Set(
        cons
          .filter((c) => c.rel === t.oid && c.contype === "f" && c.ref !== t.oid)
          .map((c) => nameOf.get(c.ref!)!)
          .filter((n) => n && !EXCLUDED_TABLES.has(n)),
      ),
    ],
  }));
  return dependencyOrder(infos);
}

/** Parents before children (Kahn); tables in a foreign-key cycle keep name order at the end. */
export function dependencyOrder(tables: TableInfo[]): TableInfo[] {
  const byName = new Map(tables.map((t) => [t.name, t]));
  const done = new Set<string>();
  const out: TableInfo[] = [];
  let progress = true;
  while (out.length < tables.length && progress) {
    progress = false;
    for (const t of tables) {
      if (done.has(t.name)) continue;
      if (t.parents.every((p) => done.has(p) || !byName.has(p))) {
        out.push(t);
        done.add(t.name);
        progress = true;
      }
    }
  }
  for (const t of tables) if (!done.has(t.name)) out.push(t);
  return out;
}

/** pgvector's binary form (int16 dim, int16 unused, float32 big-endian) → its text input form (snapshots of format 1). */
export function vectorBinaryToText(b64: string): string {
  const buf = Buffer.from(b64, "base64");
  const dim = buf.readUInt16BE(0);
  const out = new Array<string>(dim);
  for (let i = 0; i < dim; i++) out[i] = String(buf.readFloatBE(4 + i * 4));
  return `[${out.join(",")}]`;
}

/**
 * Runs `fn` on one session inside one transaction. `read` gives a consistent REPEATABLE READ view
 * for a snapshot; otherwise the caller's writes commit together or not at all. On PGlite the
 * transaction holds the instance's lock, so no other query of the process slips into it.
 */
export async function withTransaction<T>(
  db: Pick<Db, "kind" | "url" | "pglite">,
  mode: "read" | "write",
  fn: (s: SqlRunner) => Promise<T>,
): Promise<T> {
  const run = async (tx: SqlRunner) => {
    if (mode === "read") await beginSnapshotRead(tx);
    return fn(tx);
  };
  if (db.kind === "pglite") return pgliteRunner(db.pglite!).transaction(run);
  // A connection of its own, not one of the pool's: a backup or restore holds it for minutes.
  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  try {
    return await pgRunner(client).transaction(run);
  } finally {
    await client.end().catch(() => {});
  }
}
