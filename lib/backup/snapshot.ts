// Taking a snapshot: read every table in one consistent transaction, store each row as a
// content-addressed encrypted object (rows already stored by an earlier snapshot are not uploaded
// again), then write the manifest LAST — a snapshot exists only once its manifest does, so an
// interrupted backup leaves earlier snapshots untouched and merely some unreferenced objects.
import { randomBytes } from "node:crypto";
import type { KeyRing } from "../crypto/keys";
import type { Db } from "../db/client";
import { objectSelectSql, readCatalog, withTransaction, q } from "./catalog";
import { decodeManifest, encodeManifest, encodeObject, manifestKey, MANIFEST_FORMAT, objectKey, sha256Hex, type Manifest, type ManifestTable } from "./format";
import type { BackupTarget } from "./target";

export interface SnapshotProgress {
  phase: "reading" | "manifest";
  rowsTotal: number;
  rowsDone: number;
  objectsTotal: number;
  objectsUploaded: number;
  bytesTotal: number;
  bytesUploaded: number;
}

export interface SnapshotResult extends SnapshotProgress {
  snapshotId: string;
  createdAt: string;
  /** Rows per table and how many of them were new objects (uploaded by this snapshot). */
  tables: Array<{ name: string; rows: number; uploaded: number }>;
}

export class BackupInterruptedError extends Error {
  constructor() {
    super("The backup was interrupted before its manifest was written; earlier snapshots are intact.");
    this.name = "BackupInterruptedError";
  }
}

const FETCH = 500;

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

/** The newest manifest this key ring can read, for reusing its objects. */
async function latestReadableManifest(target: BackupTarget, ring: KeyRing): Promise<Manifest | null> {
  for (const s of (await listSnapshots(target)).slice(0, 3)) {
    const body = await target.get(s.key);
    if (!body) continue;
    try {
      return decodeManifest(ring, s.key, body);
    } catch {
      // An unreadable manifest only costs re-uploading; restore and verify report it properly.
    }
  }
  return null;
}

export async function createSnapshot(opts: {
  db: Pick<Db, "kind" | "url" | "pglite">;
  target: BackupTarget;
  ring: KeyRing;
  now?: Date;
  concurrency?: number;
  signal?: AbortSignal;
  onProgress?: (p: SnapshotProgress) => void;
}): Promise<SnapshotResult> {
  const { target, ring } = opts;
  const now = opts.now ?? new Date();
  const snapshotId = newSnapshotId(now);
  const concurrency = opts.concurrency ?? 8;

  // What is already stored and usable: referenced by the newest manifest AND still present.
  const present = new Set((await target.list("objects/", { detail: false })).map((o) => o.key));
  const known = new Map<string, { size: number; keyId: string }>();
  const prev = await latestReadableManifest(target, ring);
  if (prev) {
    for (const t of prev.tables) {
      for (const [hash, size, k] of t.objects) {
        if (present.has(objectKey(hash))) known.set(hash, { size, keyId: prev.keyIds[k] });
      }
    }
  }

  const keyIds: string[] = [];
  const keyIndex = (id: string) => {
    let i = keyIds.indexOf(id);
    if (i < 0) i = keyIds.push(id) - 1;
    return i;
  };
  const progress: SnapshotProgress = { phase: "reading", rowsTotal: 0, rowsDone: 0, objectsTotal: 0, objectsUploaded: 0, bytesTotal: 0, bytesUploaded: 0 };
  const report = () => opts.onProgress?.({ ...progress });
  const inflight = new Set<Promise<void>>();
  let failure: unknown = null;
  const checkAbort = () => {
    if (failure) throw failure;
    if (opts.signal?.aborted) throw new BackupInterruptedError();
  };

  const { tables, migrations, sequences, uploadedIn } = await withTransaction(opts.db, "read", async (s) => {
    // Fixed output settings, so the same row always serialises to the same bytes (and the same address).
    await s.query("SET LOCAL TIME ZONE 'UTC'");
    await s.query("SET LOCAL extra_float_digits = 1");
    await s.query("SET LOCAL DateStyle = 'ISO, YMD'");
    const catalog = await readCatalog(s);
    const hasMigrations = (await s.query<{ ok: boolean }>(`SELECT to_regclass('public._prisma_migrations') IS NOT NULL AS ok`))[0].ok;
    const migrations = hasMigrations
      ? (
          await s.query<{ name: string }>(
            `SELECT migration_name AS name FROM public._prisma_migrations WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL ORDER BY migration_name`,
          )
        ).map((r) => r.name)
      : [];
    const seqNames = await s.query<{ name: string }>(
      `SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' AND c.relkind = 'S' ORDER BY 1`,
    );
    const sequences: Manifest["sequences"] = [];
    for (const { name } of seqNames) {
      const [r] = await s.query<{ last: string; called: boolean }>(`SELECT last_value::text AS last, is_called AS called FROM public.${q(name)}`);
      sequences.push({ name, lastValue: r.last, isCalled: r.called });
    }
    for (const t of catalog) {
      const [c] = await s.query<{ n: string }>(`SELECT count(*)::text AS n FROM public.${q(t.name)}`);
      progress.rowsTotal += Number(c.n);
    }
    report();

    const scheduled = new Set<string>();
    const tables: ManifestTable[] = [];
    const uploadedIn = new Map<string, number>();
    for (const t of catalog) {
      const mt: ManifestTable = {
        name: t.name,
        columns: t.columns.map((c) => ({ name: c.name, type: c.type, ...(c.typname === "vector" ? { vector: true } : {}) })),
        rows: 0,
        objects: [],
      };
      tables.push(mt);
      await s.query(`DECLARE sot_backup_cursor NO SCROLL CURSOR FOR ${objectSelectSql(t)}`);
      for (;;) {
        checkAbort();
        const rows = await s.query<{ j: string; n: number }>(`FETCH ${FETCH} FROM sot_backup_cursor`);
        if (rows.length === 0) break;
        let fetchedRows = 0;
        for (const { j, n } of rows) {
          const plain = Buffer.from(j, "utf8");
          const hash = sha256Hex(plain);
          const entry: [string, number, number, number] = [hash, 0, 0, Number(n)];
          mt.objects.push(entry);
          mt.rows += Number(n);
          fetchedRows += Number(n);
          progress.objectsTotal++;
          const have = known.get(hash);
          if (have) {
            entry[1] = have.size;
            entry[2] = keyIndex(have.keyId);
            progress.bytesTotal += have.size;
            continue;
          }
          const body = encodeObject(ring, hash, plain);
          entry[1] = body.length;
          entry[2] = keyIndex(ring.current.id);
          progress.bytesTotal += body.length;
          known.set(hash, { size: body.length, keyId: ring.current.id });
          if (scheduled.has(hash)) continue;
          scheduled.add(hash);
          uploadedIn.set(t.name, (uploadedIn.get(t.name) ?? 0) + 1);
          const p: Promise<void> = target
            .put(objectKey(hash), body)
            .then(() => {
              progress.objectsUploaded++;
              progress.bytesUploaded += body.length;
            })
            .catch((err) => {
              failure ??= err;
            })
            .finally(() => inflight.delete(p));
          inflight.add(p);
          while (inflight.size >= concurrency) await Promise.race(inflight);
          checkAbort();
        }
        progress.rowsDone += fetchedRows;
        report();
      }
      await s.query("CLOSE sot_backup_cursor");
    }
    return { tables, migrations, sequences, uploadedIn };
  }).finally(async () => {
    await Promise.allSettled([...inflight]);
  });
  checkAbort();

  progress.phase = "manifest";
  report();
  const createdAt = now.toISOString();
  const manifest: Manifest = {
    format: MANIFEST_FORMAT,
    snapshotId,
    createdAt,
    migrations,
    keyIds,
    tables,
    sequences,
    totals: { rows: progress.rowsDone, objects: progress.objectsTotal, bytes: progress.bytesTotal },
  };
  await target.put(manifestKey(snapshotId), encodeManifest(ring, manifest));
  return { ...progress, snapshotId, createdAt, tables: tables.map((t) => ({ name: t.name, rows: t.rows, uploaded: uploadedIn.get(t.name) ?? 0 })) };
}
