// Restoring and verifying snapshots. Restore runs in ONE transaction on the target database: schema
// (the snapshot's migration level), every row, sequences and indexes — and checks every object's
// tag and address on the way. Any missing, altered or wrongly keyed object rolls the whole thing back,
// so the database is either the complete snapshot or exactly what it was before.
//
// A snapshot of format 2 may be a layer over a parent (incremental): its chain, from the full snapshot
// up, is loaded newest first per table, each older layer skipping the rows a newer one replaced, so
// every row is inserted once and nothing is deleted. Format 1 snapshots (one object per row, SHA-256
// names) are restored as they always were.
import type { KeyRing } from "../crypto/keys";
import type { Db } from "../db/client";
import { MIGRATIONS_DIR, readMigrations } from "../db/migrate";
import type { SqlRunner } from "../db/sql-runner";
import { vectorBinaryToText, withTransaction } from "./catalog";
import { BackupIntegrityError, decodeManifest, decodeObject, manifestKey, MANIFEST_FORMAT_V1, objectKey, type Manifest, type ManifestTable, type ObjectEntry } from "./format";
import {
  addToSkipSet,
  countRows,
  createIndex,
  createMigrationsTable,
  createSkipSet,
  dropIndex,
  insertJsonRows,
  insertJsonRowsExcept,
  plainIndexes,
  publicTables,
  reapplyShreds,
  recordMigration,
  restoredShreddedKeys,
  shreddedKesKeys,
  resetPublicSchema,
  setRestoreSession,
  setSequence,
  tableHasRows,
  triggersOff,
  truncateTables,
} from "./queries";
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

/** The snapshot and the layers it stands on, full snapshot first. */
export async function loadChain(target: BackupTarget, ring: KeyRing, m: Manifest): Promise<Manifest[]> {
  const chain = [m];
  const seen = new Set([m.snapshotId]);
  while (chain[0].parent) {
    const parentId = chain[0].parent;
    if (seen.has(parentId)) throw new BackupIntegrityError(`Snapshot ${m.snapshotId}: its chain of parents loops at ${parentId}.`);
    seen.add(parentId);
    let parent: Manifest;
    try {
      parent = await loadManifest(target, ring, parentId);
    } catch (err) {
      throw new BackupIntegrityError(`Snapshot ${m.snapshotId} is incremental over ${parentId}, which cannot be read: ${(err as Error).message}`, manifestKey(parentId));
    }
    chain.unshift(parent);
  }
  return chain;
}

/**
 * Fetches and decodes objects in order, up to `concurrency` ahead of the consumer: while the caller
 * loads one, the next ones are already being downloaded and checked. Memory stays at about
 * `concurrency` objects.
 */
async function* fetchObjects(
  target: BackupTarget,
  ring: KeyRing,
  entries: ObjectEntry[],
  what: (i: number) => string,
  namingKey: Buffer | undefined,
  concurrency: number,
): AsyncGenerator<{ body: Buffer; entry: ObjectEntry }> {
  const fetchOne = async (i: number) => {
    const [hash] = entries[i];
    const key = objectKey(hash);
    const body = await target.get(key);
    if (!body) throw new BackupIntegrityError(`Object ${key} (${what(i)}) is missing from ${target.description}.`, key);
    return decodeObject(ring, hash, body, what(i), namingKey);
  };
  const ahead: Array<Promise<Buffer>> = [];
  let next = 0;
  const fill = () => {
    while (next < entries.length && ahead.length < Math.max(1, concurrency)) {
      const p = fetchOne(next++);
      p.catch(() => {}); // observed when its turn comes; this only keeps an early failure from being "unhandled"
      ahead.push(p);
    }
  };
  fill();
  for (let i = 0; i < entries.length; i++) {
    const body = await ahead.shift()!;
    fill();
    yield { body, entry: entries[i] };
  }
}

/** A format-2 segment's lines, checked against the count its manifest entry states. */
function segmentLines(body: Buffer, entry: ObjectEntry, what: string): string[] {
  const lines = body.toString("utf8").split("\n");
  if (lines.length !== entry[3]) {
    throw new BackupIntegrityError(`Object ${objectKey(entry[0])} (${what}) holds ${lines.length} lines; the manifest lists ${entry[3]}.`, objectKey(entry[0]));
  }
  return lines;
}

const namingKeyOf = (m: Manifest) => (m.naming ? Buffer.from(m.naming.key, "base64") : undefined);

export interface VerifyResult {
  snapshotId: string;
  createdAt: string;
  tables: Array<{ name: string; rows: number }>;
  objects: number;
  bytes: number;
}

/** Checks every object a snapshot needs (present, authentic, matching its address) without restoring anything. */
export async function verifySnapshot(opts: { target: BackupTarget; ring: KeyRing; snapshotId?: string; concurrency?: number }): Promise<VerifyResult> {
  const snapshotId = await resolveSnapshotId(opts.target, opts.snapshotId);
  const m = await loadManifest(opts.target, opts.ring, snapshotId);
  const chain = m.format === MANIFEST_FORMAT_V1 ? [m] : await loadChain(opts.target, opts.ring, m);
  let objects = 0;
  let bytes = 0;
  for (const layer of chain) {
    const naming = namingKeyOf(layer);
    for (const t of layer.tables) {
      let rows = 0;
      const entries = [...t.objects, ...(t.changedKeys ?? [])];
      const what = (i: number) => `table ${t.name}, object ${i + 1} of ${entries.length}`;
      for await (const { body, entry } of fetchObjects(opts.target, opts.ring, entries, what, naming, opts.concurrency ?? 8)) {
        if (layer.format === MANIFEST_FORMAT_V1) {
          const parsed = JSON.parse(body.toString("utf8"));
          if (!Array.isArray(parsed)) throw new BackupIntegrityError(`An object of table ${t.name} does not hold rows.`);
          rows += parsed.length;
        } else {
          const n = segmentLines(body, entry, `table ${t.name}`).length;
          if (t.objects.includes(entry)) rows += n;
        }
        objects++;
      }
      if (rows !== t.rows) throw new BackupIntegrityError(`Table ${t.name}: its objects hold ${rows} rows; the manifest of snapshot ${layer.snapshotId} lists ${t.rows}.`);
      bytes += entries.reduce((s, o) => s + o[1], 0);
    }
  }
  return { snapshotId, createdAt: m.createdAt, tables: m.tables.map((t) => ({ name: t.name, rows: t.rows })), objects, bytes };
}

export interface RestoreResult extends VerifyResult {
  migrations: number;
  /** Snapshots applied: the full one first, then each incremental layer. */
  layers: string[];
  /**
   * KES keys shredded in the restored database: what they protected (a cubby's values, for `cubby.<name>`)
   * was restored as ciphertext that can no longer be decrypted. `reapplied`: shredded in the database this
   * restore replaced, after the snapshot was taken, and shredded again in the restored rows.
   */
  shreddedKeys: Array<{ name: string; reapplied: boolean }>;
}

type RestoreDb = Pick<Db, "kind" | "url" | "pglite">;

interface LoadContext {
  s: SqlRunner;
  target: BackupTarget;
  ring: KeyRing;
  concurrency: number;
  /** `inserted` rows went in; `read` rows were read from objects (skipped ones included). */
  onRows: (table: string, inserted: number, read: number) => void;
}

/** Format 1: one object per row (or owning entity), a JSON array each; vectors as base64 binary. */
async function loadTableV1(c: LoadContext, t: ManifestTable): Promise<number> {
  const vectors = t.columns.filter((col) => col.vector).map((col) => col.name);
  const what = (i: number) => `table ${t.name}, object ${i + 1} of ${t.objects.length}`;
  let batch: Buffer[] = [];
  let loaded = 0;
  const flush = async () => {
    if (!batch.length) return;
    let json: string;
    if (vectors.length) {
      const parsed = batch.flatMap((b) => JSON.parse(b.toString("utf8")) as Array<Record<string, unknown>>);
      for (const r of parsed) for (const v of vectors) if (typeof r[v] === "string") r[v] = vectorBinaryToText(r[v] as string);
      json = JSON.stringify(parsed);
    } else {
      json = `[${batch.map((b) => b.toString("utf8").trim().slice(1, -1).trim()).filter(Boolean).join(",")}]`;
    }
    const n = await insertJsonRows(c.s, t, json);
    loaded += n;
    c.onRows(t.name, n, n);
    batch = [];
  };
  for await (const { body } of fetchObjects(c.target, c.ring, t.objects, what, undefined, c.concurrency)) {
    batch.push(body);
    if (batch.length >= 500) await flush();
  }
  await flush();
  return loaded;
}

/** Format 2: the table's layers, newest first; each older layer skips the keys a newer one replaced. */
async function loadTableLayered(c: LoadContext, name: string, chain: Manifest[]): Promise<void> {
  let skip: string | null = null;
  for (let i = chain.length - 1; i >= 0; i--) {
    const layer = chain[i];
    const t = layer.tables.find((x) => x.name === name);
    if (!t) {
      throw new BackupIntegrityError(`Snapshot ${layer.snapshotId} lacks table ${name}, which a newer layer stores as a change over it.`);
    }
    const naming = namingKeyOf(layer);
    const of = chain.length > 1 ? ` of snapshot ${layer.snapshotId}` : "";
    const what = (k: number) => `table ${name}, object ${k + 1} of ${t.objects.length}${of}`;
    let stored = 0;
    for await (const { body, entry } of fetchObjects(c.target, c.ring, t.objects, what, naming, c.concurrency)) {
      const lines = segmentLines(body, entry, `table ${name}`);
      // row_to_json never writes a raw newline (it escapes them), so lines are rows.
      const json = `[${lines.join(",")}]`;
      if (skip) {
        const [n, skipped] = await insertJsonRowsExcept(c.s, { ...t, primaryKey: t.primaryKey ?? [] }, skip, json);
        stored += n + skipped;
        c.onRows(name, n, n + skipped);
      } else {
        const n = await insertJsonRows(c.s, t, json);
        stored += n;
        c.onRows(name, n, n);
      }
    }
    if (stored !== t.rows) throw new BackupIntegrityError(`Table ${name}: snapshot ${layer.snapshotId} stores ${t.rows} rows; ${stored} were read from its objects.`);
    if (t.full !== false) return;
    skip ??= await createSkipSet(c.s, { name, primaryKey: t.primaryKey ?? [] });
    const keysWhat = (k: number) => `table ${name}, changed keys ${k + 1} of ${t.changedKeys?.length ?? 0}${of}`;
    for await (const { body, entry } of fetchObjects(c.target, c.ring, t.changedKeys ?? [], keysWhat, naming, c.concurrency)) {
      await addToSkipSet(c.s, skip, { name, primaryKey: t.primaryKey ?? [] }, `[${segmentLines(body, entry, `table ${name}, changed keys`).join(",")}]`);
    }
  }
  throw new BackupIntegrityError(`Table ${name}: the chain of snapshots ${chain.map((m) => m.snapshotId).join(" → ")} has no full copy of it.`);
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
  const v1 = m.format === MANIFEST_FORMAT_V1;
  const chain = v1 ? [m] : await loadChain(opts.target, opts.ring, m);

  // The schema is rebuilt from this code's migration files, exactly at the snapshot's level.
  const dir = opts.migrationsDir ?? MIGRATIONS_DIR;
  const files = new Map((await readMigrations(dir)).map((f) => [f.name, f]));
  const missing = m.migrations.filter((n) => !files.has(n));
  if (missing.length) {
    throw new RestoreRefusedError(
      `Snapshot ${snapshotId} was taken at a schema level this code does not know (missing migrations: ${missing.join(", ")}). Restore it with a newer version of Project SOT.`,
    );
  }

  const rowsTotal = chain.reduce((n, layer) => n + layer.tables.reduce((a, t) => a + t.rows, 0), 0);
  let rowsDone = 0;
  let objects = 0;
  const restored = new Map<string, number>();
  let shreddedKeys: RestoreResult["shreddedKeys"] = [];
  await withTransaction(opts.db, "write", async (s) => {
    const existing = await publicTables(s);
    // A shred must outlive a restore of a snapshot taken before it (which still holds the key's material).
    const shreddedBefore = await shreddedKesKeys(s);
    if (existing.length) {
      const nonEmpty: string[] = [];
      for (const t of existing) {
        if (t === "_prisma_migrations" || t === "backups") continue;
        if (await tableHasRows(s, t)) nonEmpty.push(t);
      }
      // A freshly migrated database holds its one tracking row: that is not data.
      const data = nonEmpty.filter((t) => t !== "backup_tracking" && t !== "backup_changes");
      if (data.length && !opts.force) {
        throw new RestoreRefusedError(
          `The target database is not empty (rows in ${data.slice(0, 5).join(", ")}${data.length > 5 ? ", …" : ""}). ` +
            `Restore into an empty database, or pass --force to replace its contents.`,
        );
      }
      // Empty tables (a freshly migrated database) or --force: start from a clean public schema.
      await resetPublicSchema(s);
    }
    await setRestoreSession(s);
    await createMigrationsTable(s);
    for (const name of m.migrations) {
      const f = files.get(name)!;
      await s.exec(f.sql);
      await recordMigration(s, name, f.checksum);
    }

    // Loading into unindexed tables and indexing once is far faster (HNSW above all) than the reverse.
    const indexes = await plainIndexes(s);
    for (const ix of indexes) await dropIndex(s, ix.name);

    // Rows go in parents-first; replica mode additionally tolerates self-references and cycles
    // where the role may use it (superuser); otherwise dependency order alone must do.
    // Triggers must not fire either: rows are restored as they were, including whatever tables
    // other triggers maintain (a second copy of derived rows would break their keys).
    const present = new Set(await publicTables(s));
    const triggersOn = await triggersOff(s, [...present]);

    // A migration may seed rows (defaults, reference data); the snapshot holds the truth for every
    // table it lists. Emptied with triggers off, so no trigger cascades into another table.
    const seeded: string[] = [];
    for (const t of m.tables) if (present.has(t.name) && (await tableHasRows(s, t.name))) seeded.push(t.name);
    await truncateTables(s, seeded);

    const c: LoadContext = {
      s,
      target: opts.target,
      ring: opts.ring,
      concurrency: opts.concurrency ?? 4,
      onRows: (table, inserted, read) => {
        restored.set(table, (restored.get(table) ?? 0) + inserted);
        rowsDone += read;
        opts.onProgress?.({ table, rowsDone, rowsTotal });
      },
    };
    for (const t of m.tables) {
      if (!present.has(t.name)) {
        throw new RestoreRefusedError(`Snapshot ${snapshotId} holds table ${t.name}, which its migrations do not create.`);
      }
      if (v1) {
        await loadTableV1(c, t);
        const n = await countRows(s, t.name);
        if (n !== t.rows) throw new BackupIntegrityError(`Table ${t.name} holds ${n} rows after restore; the snapshot lists ${t.rows}.`);
        objects += t.objects.length;
      } else {
        await loadTableLayered(c, t.name, chain);
      }
    }
    if (!v1) objects = chain.reduce((n, layer) => n + layer.tables.reduce((a, t) => a + t.objects.length + (t.changedKeys?.length ?? 0), 0), 0);
    const reapplied = new Set(await reapplyShreds(s, shreddedBefore));
    shreddedKeys = (await restoredShreddedKeys(s)).map((name) => ({ name, reapplied: reapplied.has(name) }));
    for (const seq of m.sequences) await setSequence(s, seq);
    for (const ix of indexes) await createIndex(s, ix.def);
    await triggersOn();
  });

  return {
    snapshotId,
    createdAt: m.createdAt,
    tables: m.tables.map((t) => ({ name: t.name, rows: restored.get(t.name) ?? 0 })),
    objects,
    bytes: chain.reduce((n, layer) => n + layer.totals.bytes, 0),
    migrations: m.migrations.length,
    layers: chain.map((x) => x.snapshotId),
    shreddedKeys,
  };
}
