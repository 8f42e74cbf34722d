// Cubbies' SQL (the data-access rule: raw SQL here only, through db.sql): the hot path of get and set
// is one statement each, prepared (planned once per connection).
import { prepared, type SqlRunner } from "../db/sql-runner";

export interface CubbyRow {
  id: string;
  name: string;
  created_by: string;
  created_at: Date;
  items: number;
  bytes: number;
}

const CUBBY_WITH_COUNTS = `
  SELECT c.id, c.name, c.created_by, c.created_at,
         (SELECT count(*)::int FROM cubby_items i WHERE i.cubby_id = c.id) AS items,
         (SELECT COALESCE(sum(size), 0)::int FROM cubby_items i WHERE i.cubby_id = c.id) AS bytes
    FROM cubbies c`;

export async function cubbyByName(sql: SqlRunner, name: string): Promise<CubbyRow | null> {
  const rows = await sql.query<CubbyRow>(`${CUBBY_WITH_COUNTS} WHERE c.name = $1`, [name]);
  return rows[0] ?? null;
}

export async function cubbiesByName(sql: SqlRunner, names: string[] | null): Promise<CubbyRow[]> {
  return sql.query<CubbyRow>(`${CUBBY_WITH_COUNTS} WHERE $1::text[] IS NULL OR c.name = ANY($1::text[]) ORDER BY c.name`, [names]);
}

export async function cubbyId(sql: SqlRunner, name: string): Promise<string | null> {
  const rows = await sql<{ id: string }>`SELECT id FROM cubbies WHERE name = ${name}`;
  return rows[0]?.id ?? null;
}

export async function insertCubby(sql: SqlRunner, name: string, createdBy: string): Promise<string | null> {
  const rows = await sql<{ id: string }>`
    INSERT INTO cubbies (name, created_by) VALUES (${name}, ${createdBy}) ON CONFLICT (name) DO NOTHING RETURNING id`;
  return rows[0]?.id ?? null;
}

export interface ItemRow {
  key: string;
  version: number;
  ciphertext: string;
  size: number;
  updated_by: string;
  updated_at: Date;
}

/** The item with its cubby's id (null item when the cubby exists but the key does not). */
export async function itemOf(sql: SqlRunner, cubby: string, key: string): Promise<{ cubby_id: string; item: ItemRow | null } | null> {
  const rows = await prepared(sql)<ItemRow & { cubby_id: string; has: boolean }>`
    SELECT c.id AS cubby_id, i.key IS NOT NULL AS has, i.key, i.version, i.ciphertext, i.size, i.updated_by, i.updated_at
      FROM cubbies c LEFT JOIN cubby_items i ON i.cubby_id = c.id AND i.key = ${key}
     WHERE c.name = ${cubby}`;
  const r = rows[0];
  if (!r) return null;
  return { cubby_id: r.cubby_id, item: r.has ? { key: r.key, version: r.version, ciphertext: r.ciphertext, size: r.size, updated_by: r.updated_by, updated_at: r.updated_at } : null };
}

/**
 * Writes version `version` if the stored one is still `previous` (0: none yet); false when another write
 * came first (optimistic concurrency: the caller answers 409).
 */
export async function writeItem(
  sql: SqlRunner,
  i: { cubbyId: string; key: string; previous: number; version: number; ciphertext: string; size: number; updatedBy: string },
): Promise<ItemRow | null> {
  const rows =
    i.previous === 0
      ? await prepared(sql)<ItemRow>`
          INSERT INTO cubby_items (cubby_id, key, version, ciphertext, size, updated_by)
          VALUES (${i.cubbyId}::uuid, ${i.key}, ${i.version}, ${i.ciphertext}, ${i.size}, ${i.updatedBy})
          ON CONFLICT (cubby_id, key) DO NOTHING RETURNING key, version, size, updated_by, updated_at`
      : await prepared(sql)<ItemRow>`
          UPDATE cubby_items SET version = ${i.version}, ciphertext = ${i.ciphertext}, size = ${i.size},
                                 updated_by = ${i.updatedBy}, updated_at = now()
           WHERE cubby_id = ${i.cubbyId}::uuid AND key = ${i.key} AND version = ${i.previous}
           RETURNING key, version, size, updated_by, updated_at`;
  return rows[0] ?? null;
}

export async function deleteItem(sql: SqlRunner, cubbyId: string, key: string, version: number | null): Promise<number> {
  const rows = await sql<{ key: string }>`
    DELETE FROM cubby_items WHERE cubby_id = ${cubbyId}::uuid AND key = ${key}
       AND (${version}::int IS NULL OR version = ${version}::int) RETURNING key`;
  return rows.length;
}

export async function listItems(sql: SqlRunner, cubbyId: string): Promise<ItemRow[]> {
  return sql<ItemRow>`
    SELECT key, version, ciphertext, size, updated_by, updated_at FROM cubby_items
     WHERE cubby_id = ${cubbyId}::uuid ORDER BY key`;
}

/** Swaps a value's envelope after a rewrap, if the value did not change meanwhile. */
export async function replaceCiphertext(sql: SqlRunner, cubbyId: string, key: string, version: number, ciphertext: string): Promise<boolean> {
  const rows = await sql<{ key: string }>`
    UPDATE cubby_items SET ciphertext = ${ciphertext}
     WHERE cubby_id = ${cubbyId}::uuid AND key = ${key} AND version = ${version} RETURNING key`;
  return rows.length > 0;
}

/** How many values each KES key version wraps, per cubby (rotation progress on the admin page). */
export async function itemsByKeyVersion(sql: SqlRunner): Promise<Array<{ cubby_id: string; version: string; n: number }>> {
  return sql<{ cubby_id: string; version: string; n: number }>`
    SELECT cubby_id, split_part(ciphertext, ':', 4) AS version, count(*)::int AS n
      FROM cubby_items GROUP BY 1, 2`;
}

/**
 * Cubbies holding values whose key is shredded: those values never open again. Also run by a restore on
 * the rows it restored, where (an old snapshot) the tables may not exist.
 */
export async function unreadableCubbies(s: SqlRunner): Promise<Array<{ name: string; items: number }>> {
  const [t] = await s<{ present: boolean }>`
    SELECT to_regclass('public.cubbies') IS NOT NULL AND to_regclass('public.kes_keys') IS NOT NULL AS present`;
  if (!t?.present) return [];
  return s<{ name: string; items: number }>`
    SELECT c.name, count(*)::int AS items
      FROM cubbies c JOIN cubby_items i ON i.cubby_id = c.id JOIN kes_keys k ON k.name = 'cubby.' || c.name
     WHERE k.status = 'shredded'
     GROUP BY c.name ORDER BY c.name`;
}

export interface RewrapRow {
  id: string;
  cubby_id: string;
  cubby: string;
  status: string;
  to_version: number | null;
  items_total: number;
  items_done: number;
  rewrapped: number;
  requested_by: string;
  error: string | null;
  created_at: Date;
  started_at: Date | null;
  finished_at: Date | null;
}

const REWRAP_COLUMNS = `r.id::text AS id, r.cubby_id::text AS cubby_id, c.name AS cubby, r.status, r.to_version, r.items_total,
  r.items_done, r.rewrapped, r.requested_by, r.error, r.created_at, r.started_at, r.finished_at`;

/** A queued rewrap, unless one is queued or running for the cubby already (then null). */
export async function insertRewrap(sql: SqlRunner, cubbyId: string, requestedBy: string): Promise<string | null> {
  const rows = await sql<{ id: string }>`
    INSERT INTO cubby_rewraps (cubby_id, requested_by) VALUES (${cubbyId}::uuid, ${requestedBy})
    ON CONFLICT (cubby_id) WHERE status IN ('queued', 'running') DO NOTHING RETURNING id::text AS id`;
  return rows[0]?.id ?? null;
}

export async function activeRewrap(sql: SqlRunner, cubbyId: string): Promise<RewrapRow | null> {
  const rows = await sql.query<RewrapRow>(
    `SELECT ${REWRAP_COLUMNS} FROM cubby_rewraps r JOIN cubbies c ON c.id = r.cubby_id
      WHERE r.cubby_id = $1::uuid AND r.status IN ('queued', 'running')`,
    [cubbyId],
  );
  return rows[0] ?? null;
}

export async function rewrapById(sql: SqlRunner, id: string): Promise<RewrapRow | null> {
  const rows = await sql.query<RewrapRow>(`SELECT ${REWRAP_COLUMNS} FROM cubby_rewraps r JOIN cubbies c ON c.id = r.cubby_id WHERE r.id = $1::uuid`, [id]);
  return rows[0] ?? null;
}

/** The newest rewrap of each cubby. */
export async function latestRewraps(sql: SqlRunner): Promise<RewrapRow[]> {
  return sql.query<RewrapRow>(
    `SELECT DISTINCT ON (r.cubby_id) ${REWRAP_COLUMNS}
       FROM cubby_rewraps r JOIN cubbies c ON c.id = r.cubby_id
      ORDER BY r.cubby_id, r.created_at DESC`,
  );
}
