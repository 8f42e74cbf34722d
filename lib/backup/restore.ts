// Restoring and verifying snapshots. Restore runs in ONE transaction on the target database: schema
// (the snapshot's migration level), every row, sequences and indexes — and checks every object's
// tag and hash on the way. Any missing, altered or wrongly keyed object rolls the whole thing back,
// so the database is either the complete snapshot or exactly what it was before.
import type { KeyRing } from "../crypto/keys";
import type { Db } from "../db/client";
import { MIGRATIONS_DIR, readMigrations } from "../db/migrate";
import type { SqlRunner } from "../db/sql-runner";
import { q, vectorBinaryToText, withTransaction } from "./catalog";
import { BackupIntegrityError, decodeManifest, decodeObject, manifestKey, objectKey, type Manifest, type ManifestTable } from "./format";
import { listSnapshots } from "./snapshot";
import type { BackupTarget } from "./target";

export class RestoreRefusedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "RestoreRefusedError";
  }
}

/** Resolves "latest" (or undefined) to the newest snapshot id. */
export async function resolveSnapshotId(target: BackupTarget, id?: string): Promise<string> {
  if (id && id !== "latest") return id;
  const [newest] = await listSnapshots(target);
  if (!newest) throw new BackupIntegrityError(`There is no snapshot in ${target.description}.`);
  return newest.snapshotId;
}

export async function loadManifest(target: BackupTarget, ring: KeyRing, snapshotId: string): Promise<Manifest> {
  const key = manifestKey(snapshotId);
  const body = await target.get(key);
  if (!body) throw new BackupIntegrityError(`Snapshot ${snapshotId} does not exist: ${key} is missing from ${target.description}.`, key);
  return decodeManifest(ring, key, body);
}

/**
 * Fetches and decodes a table's objects in manifest order, `concurrency` at a time, one batch ahead:
 * while the caller inserts a batch, the next one is already being downloaded and checked.
 */
async function* tableRows(
  target: BackupTarget,
  ring: KeyRing,
  t: ManifestTable,
  concurrency: number,
  batch: number,
): AsyncGenerator<Buffer[]> {
  const fetchSlice = async (i: number): Promise<Buffer[]> => {
    const slice = t.objects.slice(i, i + batch);
    const out = new Array<Buffer>(slice.length);
    let next = 0;
    const workers = Array.from({ length: Math.min(concurrency, slice.length) }, async () => {
      while (next < slice.length) {
        const n = next++;
        const [hash] = slice[n];
        const key = objectKey(hash);
        const what = `table ${t.name}, object ${i + n + 1} of ${t.objects.length}`;
        const body = await target.get(key);
        if (!body) throw new BackupIntegrityError(`Object ${key} (${what}) is missing from ${target.description}.`, key);
        out[n] = decodeObject(ring, hash, body, what);
      }
    });
    await Promise.all(workers);
    return out;
  };
  if (t.objects.length === 0) return;
  let pending = fetchSlice(0);
  pending.catch(() => {}); // observed below; this only keeps an early failure from being "unhandled"
  for (let i = 0; i < t.objects.length; i += batch) {
    const out = await pending;
    if (i + batch < t.objects.length) {
      pending = fetchSlice(i + batch);
      pending.catch(() => {});
    }
    yield out;
  }
}

export interface VerifyResult {
  snapshotId: string;
  createdAt: string;
  tables: Array<{ name: string; rows: number }>;
  objects: number;
  bytes: number;
}

/** Checks every object of a snapshot (present, authentic, matching its hash) without restoring anything. */
export async function verifySnapshot(opts: { target: BackupTarget; ring: KeyRing; snapshotId?: string; concurrency?: number }): Promise<VerifyResult> {
  const snapshotId = await resolveSnapshotId(opts.target, opts.snapshotId);
  const m = await loadManifest(opts.target, opts.ring, snapshotId);
  let objects = 0;
  let bytes = 0;
  for (const t of m.tables) {
    let rows = 0;
    for await (const bodies of tableRows(opts.target, opts.ring, t, opts.concurrency ?? 8, 256)) {
      for (const b of bodies) {
        const parsed = JSON.parse(b.toString("utf8"));
        if (!Array.isArray(parsed)) throw new BackupIntegrityError(`An object of table ${t.name} does not hold rows.`);
        rows += parsed.length;
      }
      objects += bodies.length;
    }
    if (rows !== t.rows) throw new BackupIntegrityError(`Table ${t.name}: its objects hold ${rows} rows; the manifest lists ${t.rows}.`);
    bytes += t.objects.reduce((s, o) => s + o[1], 0);
  }
  return { snapshotId, createdAt: m.createdAt, tables: m.tables.map((t) => ({ name: t.name, rows: t.rows })), objects, bytes };
}

export interface RestoreResult extends VerifyResult {
  migrations: number;
}

type RestoreDb = Pick<Db, "kind" | "url" | "pglite">;

async function publicTables(s: SqlRunner): Promise<string[]> {
  const rows = await s.query<{ name: string }>(
    `SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') ORDER BY 1`,
  );
  return rows.map((r) => r.name);
}

/**
 * Restores a snapshot into `db`. An empty database (no tables, or tables without rows) is restored into;
 * one holding rows is refused unless `force` (then its public schema is replaced).
 */
export async function restoreSnapshot(opts: {
  target: BackupTarget;
  ring: KeyRing;
  db: RestoreDb;
  snapshotId?: string;
  force?: boolean;
  concurrency?: number;
  migrationsDir?: string;
  onProgress?: (p: { table: string; rowsDone: number; rowsTotal: number }) => void;
}): Promise<RestoreResult> {
  const snapshotId = await resolveSnapshotId(opts.target, opts.snapshotId);
  const m = await loadManifest(opts.target, opts.ring, snapshotId);

  // The schema is rebuilt from this code's migration files, exactly at the snapshot's level.
  const dir = opts.migrationsDir ?? MIGRATIONS_DIR;
  const files = new Map((await readMigrations(dir)).map((f) => [f.name, f]));
  const missing = m.migrations.filter((n) => !files.has(n));
  if (missing.length) {
    throw new RestoreRefusedError(
      `Snapshot ${snapshotId} was taken at a schema level this code does not know (missing migrations: ${missing.join(", ")}). Restore it with a newer version of Project SOT.`,
    );
  }

  const rowsTotal = m.totals.rows;
  let rowsDone = 0;
  let objects = 0;
  await withTransaction(opts.db, "write", async (s) => {
    const existing = await publicTables(s);
    if (existing.length) {
      const nonEmpty: string[] = [];
      for (const t of existing) {
        if (t === "_prisma_migrations" || t === "backups") continue;
        const [r] = await s.query<{ any: boolean }>(`SELECT EXISTS (SELECT 1 FROM public.${q(t)}) AS any`);
        if (r.any) nonEmpty.push(t);
      }
      if (nonEmpty.length && !opts.force) {
        throw new RestoreRefusedError(
          `The target database is not empty (rows in ${nonEmpty.slice(0, 5).join(", ")}${nonEmpty.length > 5 ? ", …" : ""}). ` +
            `Restore into an empty database, or pass --force to replace its contents.`,
        );
      }
      // Empty tables (a freshly migrated database) or --force: start from a clean public schema.
      await s.exec(`DROP SCHEMA public CASCADE; CREATE SCHEMA public; GRANT USAGE, CREATE ON SCHEMA public TO PUBLIC;`);
    }
    await s.exec(`SET LOCAL TIME ZONE 'UTC'; SET LOCAL maintenance_work_mem = '256MB';`);

    await s.exec(`CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
      "id" VARCHAR(36) PRIMARY KEY NOT NULL, "checksum" VARCHAR(64) NOT NULL, "finished_at" TIMESTAMPTZ,
      "migration_name" VARCHAR(255) NOT NULL, "logs" TEXT, "rolled_back_at" TIMESTAMPTZ,
      "started_at" TIMESTAMPTZ NOT NULL DEFAULT now(), "applied_steps_count" INTEGER NOT NULL DEFAULT 0)`);
    for (const name of m.migrations) {
      const f = files.get(name)!;
      await s.exec(f.sql);
      await s.query(
        `INSERT INTO "_prisma_migrations" (id, checksum, finished_at, migration_name, applied_steps_count, started_at) VALUES (gen_random_uuid()::text, $1, now(), $2, 1, now())`,
        [f.checksum, name],
      );
    }

    // Loading into unindexed tables and indexing once is far faster (HNSW above all) than the reverse.
    const indexes = await s.query<{ name: string; def: string }>(
      `SELECT i.relname AS name, pg_get_indexdef(i.oid) AS def FROM pg_index x
       JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid JOIN pg_namespace n ON n.oid = t.relnamespace
       WHERE n.nspname = 'public' AND t.relname <> '_prisma_migrations'
         AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid)`,
    );
    for (const ix of indexes) await s.exec(`DROP INDEX public.${q(ix.name)}`);

    // Rows go in parents-first; replica mode additionally tolerates self-references and cycles
    // where the role may use it (superuser); otherwise dependency order alone must do.
    // Triggers must not fire either: rows are restored as they were, including whatever tables
    // other triggers maintain (a second copy of derived rows would break their keys).
    const present = new Set(await publicTables(s));
    let replica = true;
    await s.exec("SAVEPOINT sot_replica");
    try {
      await s.exec("SET LOCAL session_replication_role = replica");
      await s.exec("RELEASE SAVEPOINT sot_replica");
    } catch {
      await s.exec("ROLLBACK TO SAVEPOINT sot_replica");
      replica = false;
      // Not a superuser: this transaction created the tables, so it owns them and may disable user triggers.
      for (const t of present) await s.exec(`ALTER TABLE public.${q(t)} DISABLE TRIGGER USER`);
    }

    // A migration may seed rows (defaults, reference data); the snapshot holds the truth for every
    // table it lists. Emptied with triggers off, so no trigger cascades into another table.
    const seeded: string[] = [];
    for (const t of m.tables) {
      if (!present.has(t.name)) continue;
      const [r] = await s.query<{ any: boolean }>(`SELECT EXISTS (SELECT 1 FROM public.${q(t.name)}) AS any`);
      if (r.any) seeded.push(t.name);
    }
    if (seeded.length) await s.exec(`TRUNCATE ${seeded.map((t) => `public.${q(t)}`).join(", ")} CASCADE`);

    for (const t of m.tables) {
      if (!present.has(t.name)) {
        throw new RestoreRefusedError(`Snapshot ${snapshotId} holds table ${t.name}, which its migrations do not create.`);
      }
      const cols = t.columns.map((c) => q(c.name)).join(", ");
      const vectors = t.columns.filter((c) => c.vector).map((c) => c.name);
      const insert = `INSERT INTO public.${q(t.name)} (${cols}) OVERRIDING SYSTEM VALUE SELECT ${cols} FROM json_populate_recordset(NULL::public.${q(t.name)}, $1::json)`;
      let index = 0;
      for await (const bodies of tableRows(opts.target, opts.ring, t, opts.concurrency ?? 8, 500)) {
        // Each object is a JSON array of rows; a batch of objects becomes one INSERT.
        let json: string;
        if (vectors.length) {
          const parsed = bodies.flatMap((b) => JSON.parse(b.toString("utf8")) as Array<Record<string, unknown>>);
          for (const r of parsed) for (const v of vectors) if (typeof r[v] === "string") r[v] = vectorBinaryToText(r[v] as string);
          json = JSON.stringify(parsed);
        } else {
          json = `[${bodies.map((b) => b.toString("utf8").trim().slice(1, -1).trim()).filter(Boolean).join(",")}]`;
        }
        await s.query(insert, [json]);
        for (let k = 0; k < bodies.length; k++) rowsDone += t.objects[index + k][3] ?? 1;
        index += bodies.length;
        objects += bodies.length;
        opts.onProgress?.({ table: t.name, rowsDone, rowsTotal });
      }
      const [c] = await s.query<{ n: string }>(`SELECT count(*)::text AS n FROM public.${q(t.name)}`);
      if (Number(c.n) !== t.rows) throw new BackupIntegrityError(`Table ${t.name} holds ${c.n} rows after restore; the snapshot lists ${t.rows}.`);
    }
    for (const seq of m.sequences) {
      await s.query(`SELECT setval($1::regclass, $2::bigint, $3)`, [`public.${q(seq.name)}`, seq.lastValue, seq.isCalled]);
    }
    for (const ix of indexes) await s.exec(ix.def);
    if (!replica) for (const t of present) await s.exec(`ALTER TABLE public.${q(t)} ENABLE TRIGGER USER`);
  });

  return {
    snapshotId,
    createdAt: m.createdAt,
    tables: m.tables.map((t) => ({ name: t.name, rows: t.rows })),
    objects,
    bytes: m.totals.bytes,
    migrations: m.migrations.length,
  };
}

