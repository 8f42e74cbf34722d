// Taking a snapshot: read the database in one consistent transaction and store it as encrypted
// segments of rows, then write the manifest LAST — a snapshot exists only once its manifest does, so an
// interrupted backup leaves earlier snapshots untouched and merely some unreferenced objects.
//
// Full or incremental. A full snapshot streams every table through a cursor. An incremental one reads
// only the rows whose primary keys the change log (lib/backup/queries.ts, "change tracking") lists as
// written since its parent snapshot, and stores those rows plus the list of keys they replace: a
// layer over its parent. Restore applies the layers newest first, skipping rows a newer layer replaced.
// A table is copied in full when it was not tracked at the parent's time, was truncated, has no primary
// key, or changed shape; a chain of FULL_EVERY snapshots is followed by a new full one.
import { randomBytes } from "node:crypto";
import type { KeyRing } from "../crypto/keys";
import type { Db } from "../db/client";
import type { KesClient } from "../kes/client";
import { log } from "../log";
import { readCatalog, withTransaction, type TableInfo } from "./catalog";
import { decodeManifest, encodeManifest, encodeObjectAsync, manifestKey, MANIFEST_FORMAT, objectKey, objectName, type Manifest, type ManifestTable, type ObjectEntry } from "./format";
import { backupNamingKey, kesFor, type NamingKey } from "./naming";
import {
  appliedMigrations,
  changedKeys,
  countRows,
  installTracking,
  logCoversSince,
  pruneChanges,
  rowKeyExpr,
  rowsByKeys,
  sequenceStates,
  setSnapshotSession,
  streamTableRows,
  trackingState,
  trackingTriggers,
} from "./queries";
import type { BackupTarget } from "./target";
import type { BackupCounters } from "./types";

export interface SnapshotProgress extends BackupCounters {
  phase: "reading" | "manifest";
}

export interface SnapshotResult extends SnapshotProgress {
  snapshotId: string;
  createdAt: string;
  /** The snapshot this one is a layer over, or null for a full snapshot. */
  parent: string | null;
  /** Rows read from the database (a full table: all of it; an incremental one: the changed rows). */
  rowsRead: number;
  /** Per table: rows stored by this snapshot, rows read, whether in full, and segments uploaded by it. */
  tables: Array<{ name: string; rows: number; read: number; full: boolean; uploaded: number }>;
}

export class BackupInterruptedError extends Error {
  constructor() {
    super("The backup was interrupted before its manifest was written; earlier snapshots are intact.");
    this.name = "BackupInterruptedError";
  }
}

/** Plaintext bytes per segment object: large enough that per-object costs vanish, small enough to stream. */
export const SEGMENT_BYTES = 4 * 2 ** 20;
/** Snapshots in a chain (one full, then incremental layers) before the next backup is full again. */
export const FULL_EVERY = 7;
/** Keys per lookup of changed rows. */
const KEY_BATCH = 2000;

export function newSnapshotId(now: Date): string {
  return `${now.toISOString().replace(/[-:]/g, "").replace(/\.\d+Z$/, "Z")}-${randomBytes(3).toString("hex")}`;
}

export interface SnapshotEntry {
  snapshotId: string;
  key: string;
  modifiedAt: Date;
}

/** Snapshots in the target, newest first (ids sort by time). */
export async function listSnapshots(target: BackupTarget): Promise<SnapshotEntry[]> {
  const keys = await target.list("snapshots/");
  return keys
    .filter((k) => /^snapshots\/[^/]+\.json$/.test(k.key))
    .map((k) => ({ snapshotId: k.key.slice("snapshots/".length, -".json".length), key: k.key, modifiedAt: k.modifiedAt }))
    .sort((a, b) => b.snapshotId.localeCompare(a.snapshotId));
}

/** The newest manifest this key ring can read. */
async function latestReadableManifest(target: BackupTarget, ring: KeyRing): Promise<Manifest | null> {
  for (const s of (await listSnapshots(target)).slice(0, 3)) {
    const body = await target.get(s.key);
    if (!body) continue;
    try {
      return decodeManifest(ring, s.key, body);
    } catch {
      // An unreadable manifest only costs a full snapshot; restore and verify report it properly.
    }
  }
  return null;
}

/** How many layers a snapshot stands on (1 = full), counting at most `limit`. */
async function chainLength(target: BackupTarget, ring: KeyRing, m: Manifest, limit: number): Promise<number> {
  let n = 1;
  let cur: Manifest | null = m;
  while (cur?.parent && n < limit) {
    const body = await target.get(manifestKey(cur.parent));
    if (!body) return limit; // a broken chain is never built upon
    cur = decodeManifest(ring, manifestKey(cur.parent), body);
    n++;
  }
  return n;
}

/** Accumulates JSON lines into segments and uploads each as one encrypted object, `concurrency` at a time. */
class SegmentWriter {
  private lines: string[] = [];
  private bytes = 0;
  private readonly inflight = new Set<Promise<void>>();
  private failure: unknown = null;

  constructor(
    private readonly o: {
      target: BackupTarget;
      ring: KeyRing;
      naming: NamingKey;
      concurrency: number;
      /** Objects already in the target (listed at the start) with what the manifest needs to reference them. */
      stored: Map<string, { size: number; keyId: string }>;
      keyIndex: (id: string) => number;
      progress: SnapshotProgress;
      segmentBytes: number;
      /** Objects this snapshot has sent (so two identical segments are uploaded once). */
      sent: Set<string>;
      check: () => void;
    },
  ) {}

  /** Segments of the table (or of its changed keys) being written now; `uploaded` counts new objects. */
  entries: ObjectEntry[] = [];
  uploaded = 0;

  start(): void {
    this.entries = [];
    this.uploaded = 0;
  }

  async add(line: string): Promise<void> {
    this.lines.push(line);
    this.bytes += line.length + 1;
    if (this.bytes >= this.o.segmentBytes) await this.flush();
  }

  async flush(): Promise<void> {
    if (!this.lines.length) return;
    const rows = this.lines.length;
    const plain = Buffer.from(this.lines.join("\n"), "utf8");
    this.lines = [];
    this.bytes = 0;
    const name = objectName(this.o.naming.key, plain);
    const entry: ObjectEntry = [name, 0, 0, rows];
    this.entries.push(entry);
    this.o.progress.objectsTotal++;
    const have = this.o.stored.get(name);
    if (have) {
      entry[1] = have.size;
      entry[2] = this.o.keyIndex(have.keyId);
      this.o.progress.bytesTotal += have.size;
      return;
    }
    entry[2] = this.o.keyIndex(this.o.ring.current.id);
    const first = !this.o.sent.has(name);
    this.o.sent.add(name);
    if (first) this.uploaded++;
    const p: Promise<void> = (async () => {
      const body = await encodeObjectAsync(this.o.ring, name, plain);
      entry[1] = body.length;
      this.o.progress.bytesTotal += body.length;
      if (!first) return;
      await this.o.target.put(objectKey(name), body);
      this.o.progress.objectsUploaded++;
      this.o.progress.bytesUploaded += body.length;
    })()
      .catch((err) => {
        this.failure ??= err;
      })
      .finally(() => this.inflight.delete(p));
    this.inflight.add(p);
    while (this.inflight.size >= this.o.concurrency) await Promise.race(this.inflight);
    this.o.check();
    if (this.failure) throw this.failure;
  }

  /** Waits for every upload; throws the first failure. */
  async drain(): Promise<void> {
    await Promise.allSettled([...this.inflight]);
    if (this.failure) throw this.failure;
  }
}

const sameColumns = (a: ManifestTable | undefined, t: TableInfo) =>
  !!a && JSON.stringify(a.columns) === JSON.stringify(t.columns.map((c) => ({ name: c.name, type: c.type }))) && JSON.stringify(a.primaryKey ?? []) === JSON.stringify(t.primaryKey);

export async function createSnapshot(opts: {
  db: Pick<Db, "kind" | "url" | "pglite">;
  target: BackupTarget;
  ring: KeyRing;
  /** Where the naming key comes from (default: KES_URL's KES, else KES in this process on `db`); or the key itself. */
  kes?: KesClient;
  naming?: NamingKey;
  /** The snapshot's id (the payload key from KES is made for it beforehand); default: from `now`. */
  snapshotId?: string;
  now?: Date;
  concurrency?: number;
  /** false: a full snapshot even when an incremental one is possible. */
  incremental?: boolean;
  segmentBytes?: number;
  signal?: AbortSignal;
  onProgress?: (p: SnapshotProgress) => void;
}): Promise<SnapshotResult> {
  const { target, ring } = opts;
  const now = opts.now ?? new Date();
  const snapshotId = opts.snapshotId ?? newSnapshotId(now);
  const concurrency = opts.concurrency ?? 4;
  const naming = opts.naming ?? (await backupNamingKey(target, opts.kes ?? (await kesFor(opts.db, ring))));

  // The parent: the newest readable snapshot, if it is of this format and its chain is not yet long.
  // Sealing with a KES data key, what is still sealed by a master key is not built on: the first such
  // snapshot is full and seals every segment again (same names, rewritten in place), so from then on
  // restoring needs only KES.
  const reusable = (keyId: string) => !ring.current.id.startsWith("kes-") || keyId.startsWith("kes-");
  const prev = await latestReadableManifest(target, ring);
  const parent =
    opts.incremental !== false &&
    prev?.format === MANIFEST_FORMAT &&
    prev.tracking &&
    prev.keyIds.every(reusable) &&
    (await chainLength(target, ring, prev, FULL_EVERY)) < FULL_EVERY
      ? prev
      : null;

  // What is already stored and usable: referenced by the newest manifest AND still present.
  const present = new Set((await target.list("objects/", { detail: false })).map((o) => o.key));
  const stored = new Map<string, { size: number; keyId: string }>();
  if (prev?.naming?.key === naming.key.toString("base64")) {
    for (const t of prev.tables) {
      for (const [name, size, k] of t.objects) if (present.has(objectKey(name)) && reusable(prev.keyIds[k]!)) stored.set(name, { size, keyId: prev.keyIds[k]! });
    }
  }

  // Tracking triggers on every table, committed before the snapshot's transaction starts: every write
  // after this point is logged, every write before it is in the snapshot.
  await withTransaction(opts.db, "write", async (s) => {
    if (!(await trackingState(s))) return;
    const installed = await trackingTriggers(s);
    for (const t of await readCatalog(s)) {
      const expr = rowKeyExpr(t) ?? "";
      if (installed.get(t.name)?.arg !== expr) await installTracking(s, t.name, rowKeyExpr(t));
    }
  });

  const keyIds: string[] = [];
  const keyIndex = (id: string) => {
    let i = keyIds.indexOf(id);
    if (i < 0) i = keyIds.push(id) - 1;
    return i;
  };
  const progress: SnapshotProgress = { phase: "reading", rowsTotal: 0, rowsDone: 0, objectsTotal: 0, objectsUploaded: 0, bytesTotal: 0, bytesUploaded: 0 };
  const report = () => opts.onProgress?.({ ...progress });
  const check = () => {
    if (opts.signal?.aborted) throw new BackupInterruptedError();
  };
  const writer = new SegmentWriter({
    target,
    ring,
    naming,
    concurrency,
    stored,
    keyIndex,
    progress,
    segmentBytes: opts.segmentBytes ?? SEGMENT_BYTES,
    sent: new Set(),
    check,
  });
  const perTable: SnapshotResult["tables"] = [];
  let rowsRead = 0;

  const read = await withTransaction(opts.db, "read", async (s) => {
    await setSnapshotSession(s);
    const catalog = await readCatalog(s);
    const migrations = await appliedMigrations(s);
    const sequences = await sequenceStates(s);
    const tracking = await trackingState(s);
    const triggers = tracking ? await trackingTriggers(s) : new Map<string, { oid: number; arg: string }>();
    const layered =
      !!parent &&
      !!tracking &&
      parent.tracking!.id === tracking.trackingId &&
      JSON.stringify(parent.migrations) === JSON.stringify(migrations) &&
      (await logCoversSince(s, parent.tracking!.snapshot));

    // Per table: full, or the keys changed since the parent.
    const plan: Array<{ t: TableInfo; changed: string[] | null }> = [];
    for (const t of catalog) {
      const before = parent?.tables.find((x) => x.name === t.name);
      const trackedBy = triggers.get(t.name)?.oid ?? null;
      let changed: string[] | null = null;
      if (layered && t.primaryKey.length && trackedBy !== null && before?.trackedBy === trackedBy && sameColumns(before, t)) {
        const c = await changedKeys(s, t.name, parent.tracking!.snapshot);
        if (!c.whole) changed = c.keys;
      }
      plan.push({ t, changed });
      progress.rowsTotal += changed ? changed.length : await countRows(s, t.name);
    }
    report();

    const tables: ManifestTable[] = [];
    for (const { t, changed } of plan) {
      const mt: ManifestTable = {
        name: t.name,
        columns: t.columns.map((c) => ({ name: c.name, type: c.type })),
        primaryKey: t.primaryKey,
        rows: 0,
        objects: [],
        full: changed === null,
        trackedBy: triggers.get(t.name)?.oid ?? null,
      };
      tables.push(mt);
      let uploaded = 0;
      const addRows = async (rows: string[]) => {
        for (const j of rows) await writer.add(j);
        mt.rows += rows.length;
        progress.rowsDone += rows.length;
        report();
        check();
      };
      if (changed === null) {
        writer.start();
        let batch = 1000;
        for await (const rows of streamTableRows(s, t, batch)) {
          await addRows(rows);
          // About 8 MiB per round trip, whatever the row size.
          const avg = rows.reduce((n, r) => n + r.length, 0) / rows.length;
          batch = Math.max(100, Math.min(20_000, Math.floor((8 * 2 ** 20) / Math.max(1, avg))));
        }
        await writer.flush();
        mt.objects = writer.entries;
        uploaded += writer.uploaded;
      } else {
        writer.start();
        for (const k of changed) await writer.add(k);
        await writer.flush();
        mt.changedKeys = writer.entries;
        uploaded += writer.uploaded;
        writer.start();
        for (let i = 0; i < changed.length; i += KEY_BATCH) {
          const rows = await rowsByKeys(s, t, changed.slice(i, i + KEY_BATCH));
          await addRows(rows);
        }
        await writer.flush();
        mt.objects = writer.entries;
        uploaded += writer.uploaded;
      }
      rowsRead += mt.rows;
      perTable.push({ name: t.name, rows: mt.rows, read: mt.rows, full: mt.full!, uploaded });
    }
    await writer.drain();
    return { tables, migrations, sequences, tracking, layered };
  }).finally(() => writer.drain().catch(() => {}));
  check();

  progress.phase = "manifest";
  report();
  const createdAt = now.toISOString();
  const manifest: Manifest = {
    format: MANIFEST_FORMAT,
    snapshotId,
    createdAt,
    migrations: read.migrations,
    keyIds,
    tables: read.tables,
    sequences: read.sequences,
    totals: { rows: progress.rowsDone, objects: progress.objectsTotal, bytes: progress.bytesTotal },
    naming: { key: naming.key.toString("base64"), wrapped: naming.wrapped },
    parent: read.layered ? parent!.snapshotId : null,
    tracking: read.tracking ? { id: read.tracking.trackingId, snapshot: read.tracking.snapshot } : null,
  };
  await target.put(manifestKey(snapshotId), encodeManifest(ring, manifest));

  if (read.tracking) {
    // Only housekeeping: a log that was not pruned is merely longer next time.
    await withTransaction(opts.db, "write", (s) => pruneChanges(s, read.tracking!.trackingId, read.tracking!.snapshot)).catch((err) =>
      log("warn", "backup change log not pruned", { err: (err as Error).message }),
    );
  }
  return { ...progress, snapshotId, createdAt, parent: manifest.parent ?? null, rowsRead, tables: perTable };
}
