// What a snapshot contains, read from the database catalog rather than from a hard-coded list: every
// table of the public schema except bookkeeping (migrations are recorded as a level, backup history
// describes the target, queue internals are transient), in foreign-key order, so tables other areas
// add later are backed up and restored without anyone touching this file.
import pg from "pg";
import type { Db } from "../db/client";
import { pgliteRunner, pgRunner, type SqlRunner } from "../db/sql-runner";

/** Tables never copied: the migration level is stored separately; backup history is not data. */
export const EXCLUDED_TABLES = new Set(["_prisma_migrations", "backups"]);
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

export const q = (ident: string) => `"${ident.replace(/"/g, '""')}"`;

export async function readCatalog(s: SqlRunner): Promise<TableInfo[]> {
  const tables = await s.query<{ oid: number; name: string }>(
    `SELECT c.oid::int AS oid, c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relispartition ORDER BY c.relname`,
  );
  const kept = tables.filter((t) => !EXCLUDED_TABLES.has(t.name) && !EXCLUDED_PATTERN.test(t.name));
  const cols = await s.query<{ rel: number; name: string; type: string; typname: string; generated: string }>(
    `SELECT a.attrelid::int AS rel, a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type, t.typname AS typname,
            a.attgenerated::text AS generated
     FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
     JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = 'public' AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attrelid, a.attnum`,
  );
  const cons = await s.query<{ rel: number; contype: string; ref: number | null; cols: string[] }>(
    `SELECT con.conrelid::int AS rel, con.contype::text AS contype, NULLIF(con.confrelid, 0)::int AS ref,
            ARRAY(SELECT a.attname::text FROM unnest(con.conkey) WITH ORDINALITY k(n, i)
                  JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.n ORDER BY k.i) AS cols
     FROM pg_constraint con JOIN pg_namespace n ON n.oid = con.connamespace
     WHERE n.nspname = 'public' AND con.contype IN ('p', 'f')`,
  );
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

/** One row as JSON text, vectors as base64 of their binary form (exact, and half the size of text). */
export function rowSelectSql(t: TableInfo): string {
  const cols = t.columns
    .map((c) => (c.typname === "vector" ? `encode(vector_send(t.${q(c.name)}), 'base64') AS ${q(c.name)}` : `t.${q(c.name)} AS ${q(c.name)}`))
    .join(", ");
  const order = (t.primaryKey.length ? t.primaryKey : t.columns.map((c) => c.name).slice(0, 1)).map((c) => `t.${q(c)}`).join(", ");
  return `SELECT (SELECT row_to_json(r) FROM (SELECT ${cols}) r)::text AS j FROM public.${q(t.name)} t${order ? ` ORDER BY ${order}` : ""}`;
}

/**
 * The column whose value groups rows into one object, or null for one object per row. Tables keyed
 * by a single column get one object per row (a changed row = one new object). Tables keyed by
 * several columns — link and posting tables with many small rows, e.g. (lexeme, chunk_id) — are
 * grouped by the key column that names the owning entity (the last uuid key column, else the first):
 * all postings of one chunk form one object, so editing a page touches only that page's objects.
 */
export function groupColumn(t: TableInfo): string | null {
  if (t.primaryKey.length < 2) return null;
  const uuids = t.primaryKey.filter((k) => t.columns.find((c) => c.name === k)?.typname === "uuid");
  return uuids.at(-1) ?? t.primaryKey[0];
}

/** One object's content per result row: `j` = JSON array of its rows, `n` = their number. */
export function objectSelectSql(t: TableInfo): string {
  const cols = t.columns
    .map((c) => (c.typname === "vector" ? `encode(vector_send(t.${q(c.name)}), 'base64') AS ${q(c.name)}` : `t.${q(c.name)} AS ${q(c.name)}`))
    .join(", ");
  // The plain row when every column is copied as is (same JSON, cheaper); otherwise a sub-select.
  const plain = !t.hasGenerated && !t.columns.some((c) => c.typname === "vector");
  const row = plain ? "row_to_json(t)" : `(SELECT row_to_json(r) FROM (SELECT ${cols}) r)`;
  const g = groupColumn(t);
  if (!g) {
    const order = (t.primaryKey.length ? t.primaryKey : t.columns.map((c) => c.name).slice(0, 1)).map((c) => `t.${q(c)}`).join(", ");
    return `SELECT '[' || ${row}::text || ']' AS j, 1 AS n FROM public.${q(t.name)} t${order ? ` ORDER BY ${order}` : ""}`;
  }
  const rest = t.primaryKey.filter((k) => k !== g).map((k) => `t.${q(k)}`).join(", ");
  return `SELECT json_agg(${row} ORDER BY ${rest})::text AS j, count(*)::int AS n FROM public.${q(t.name)} t GROUP BY t.${q(g)} ORDER BY t.${q(g)}`;
}

/** pgvector's binary form (int16 dim, int16 unused, float32 big-endian) → its text input form. */
export function vectorBinaryToText(b64: string): string {
  const buf = Buffer.from(b64, "base64");
  const dim = buf.readUInt16BE(0);
  const out = new Array<string>(dim);
  for (let i = 0; i < dim; i++) out[i] = String(buf.readFloatBE(4 + i * 4));
  return `[${out.join(",")}]`;
}

/**
 * Runs `fn` on one session inside one transaction. `readOnly` gives a consistent REPEATABLE READ view
 * for a snapshot; otherwise the caller's writes commit together or not at all. On PGlite the
 * transaction holds the instance's lock, so no other query of the process slips into it.
 */
export async function withTransaction<T>(
  db: Pick<Db, "kind" | "url" | "pglite">,
  mode: "read" | "write",
  fn: (s: SqlRunner) => Promise<T>,
): Promise<T> {
  const begin = mode === "read" ? "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY" : null;
  if (db.kind === "pglite") {
    return pgliteRunner(db.pglite!).transaction(async (tx) => {
      if (begin) await tx.exec(begin);
      return fn(tx);
    });
  }
  // A connection of its own, not one of the pool's: a backup or restore holds it for minutes.
  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  try {
    return await pgRunner(client).transaction(async (tx) => {
      if (begin) await tx.exec(begin);
      return fn(tx);
    });
  } finally {
    await client.end().catch(() => {});
  }
}
