// The first import into an empty or near-empty database, written the way a restore is: without the HNSW
// index, which is then built once, in parallel and in memory (bench:ingest measures both ways).
//
// Why: with the index in place every chunk's write is also an HNSW insert — a graph search per row, most
// of PostgreSQL's time during an import. Building the index afterwards from all rows is several times
// cheaper per vector. Readers are never blocked: the index is dropped and built CONCURRENTLY, and while
// it is absent the search statement's `ORDER BY embedding <=> $1 LIMIT k` is answered by an exact scan —
// the same or better results, slower only in proportion to the table, which is why this path is taken
// only while the database is small (INGEST_BULK_INDEX_MAX_CHUNKS) and the import is large
// (INGEST_BULK_INDEX_MIN_PAGES). Rows written meanwhile by anyone (webhooks, other imports) are in the
// table and so in the index built at the end.
//
// Crash safety: every import first makes sure the index exists (`ensureVectorIndex`), so an import that
// died between the drop and the build is repaired by the next one (a retry of the same job included).
//
// Also here: rebuilding the index with a denser graph (VECTOR_INDEX_M / VECTOR_INDEX_EF_CONSTRUCTION,
// `npm run vector-index -- --rebuild`), beside the old one so that searches keep their index throughout.
// Every build of the index (a rebuild, a bulk first import, a repair) uses those settings.
import { requireAdmin, type AccessContext } from "../access/context";
import { getConfig } from "../config";
import { withSessionLock, type Db } from "../db/client";
import { log } from "../log";
import {
  chunkCountUpTo,
  chunksTableExists,
  createVectorIndexConcurrently,
  dropVectorIndexConcurrently,
  renameRebuiltVectorIndex,
  VECTOR_INDEX_REBUILD,
  VECTOR_INDEX_REBUILD_LOCK,
  vectorIndexBuildProgress,
  vectorIndexBuilt,
  vectorIndexState,
  type IndexBuildProgress,
  type VectorIndexOptions,
} from "./queries";

/** The graph parameters every build of the index uses (settings). */
export function configuredVectorIndex(): VectorIndexOptions {
  const c = getConfig();
  return { m: c.VECTOR_INDEX_M, efConstruction: c.VECTOR_INDEX_EF_CONSTRUCTION };
}

export interface BulkIndexPlan {
  bulk: boolean;
  /** Why (or why not): shown in logs. */
  reason: string;
}

/** Whether an import of `pages` pages should write without the HNSW index and build it at the end. */
export async function planBulkIndex(db: Db, pages: number): Promise<BulkIndexPlan> {
  if (db.kind !== "postgres") return { bulk: false, reason: "the embedded database builds no index concurrently" };
  const { INGEST_BULK_INDEX_MIN_PAGES: minPages, INGEST_BULK_INDEX_MAX_CHUNKS: maxChunks } = getConfig();
  if (pages < minPages) return { bulk: false, reason: `${pages} pages < INGEST_BULK_INDEX_MIN_PAGES ${minPages}` };
  // Rebuilding costs in proportion to every row; inserting, to the new ones only: the import must be
  // at least as large as what is there (each page gives at least one chunk).
  const cap = Math.min(maxChunks, pages);
  const existing = await chunkCountUpTo(db.sql, cap);
  if (existing > cap) return { bulk: false, reason: `more than ${cap} chunks stored already (INGEST_BULK_INDEX_MAX_CHUNKS ${maxChunks}, ${pages} pages)` };
  return { bulk: true, reason: `${pages} pages into ${existing} stored chunks` };
}

/**
 * Runs an import's writes (`fn`) with the bulk plan: the HNSW index dropped before and built after when
 * `planBulkIndex` says so (or `force`), else as they are. The index is built after `fn` even when it fails.
 */
export async function withBulkVectorIndex<T>(db: Db, pages: number, fn: () => Promise<T>, opts: { force?: boolean } = {}): Promise<T> {
  await ensureVectorIndex(db);
  const plan = opts.force && db.kind === "postgres" ? { bulk: true, reason: "forced" } : await planBulkIndex(db, pages);
  if (!plan.bulk) return fn();
  log("info", "ingest: bulk first import, the vector index is built once at the end", { reason: plan.reason });
  await dropVectorIndexConcurrently(db.sql);
  try {
    return await fn();
  } finally {
    const started = performance.now();
    await ensureVectorIndex(db);
    log("info", "ingest: vector index built", { ms: Math.round(performance.now() - started) });
  }
}

/**
 * Makes sure the HNSW index exists and is valid: builds it when absent, and drops and rebuilds one left
 * invalid by a failed build. Returns without waiting when another session is building it right now.
 */
export async function ensureVectorIndex(db: Db): Promise<"present" | "built" | "building elsewhere"> {
  if (db.kind !== "postgres") return "present";
  const state = await vectorIndexState(db.sql);
  if (state.exists && state.valid) return "present";
  if (state.building) return "building elsewhere";
  if (!state.exists && (await vectorIndexState(db.sql, VECTOR_INDEX_REBUILD)).valid) {
    await renameRebuiltVectorIndex(db.sql); // a rebuild that stopped between dropping the old index and renaming
    return "present";
  }
  if (state.exists) await dropVectorIndexConcurrently(db.sql); // a failed concurrent build leaves an invalid index
  try {
    await createVectorIndexConcurrently(db.sql, configuredVectorIndex());
  } catch (err) {
    // Two sessions creating it in the same instant: the other one's build stands.
    if ((await vectorIndexState(db.sql)).exists) return "building elsewhere";
    throw err;
  }
  return "built";
}

export class VectorIndexError extends Error {}

export interface VectorIndexStatus {
  /** Null: there is no index (searches read every row until one is built). */
  built: (VectorIndexOptions & { bytes: number; valid: boolean }) | null;
  configured: VectorIndexOptions;
  /** The index exists with the configured graph: nothing for a rebuild to apply. */
  matchesSettings: boolean;
  /** A CREATE INDEX on chunks is running now (a rebuild, a bulk import's build), with PostgreSQL's progress. */
  building: IndexBuildProgress | null;
}

/** "m 16, ef_construction 64": a graph as the command and the admin page show it. */
export const graphLabel = (o: VectorIndexOptions) => `m ${o.m}, ef_construction ${o.efConstruction}`;

/** "loading tuples: 40% of 5120 blocks" (the percentage only once PostgreSQL knows the total). */
export const buildProgressLabel = (p: IndexBuildProgress) =>
  `${p.phase}${p.total > 0 ? `: ${Math.round((100 * p.done) / p.total)}% of ${p.total} blocks` : ""}`;

export async function vectorIndexStatus(db: Db): Promise<VectorIndexStatus> {
  if (!(await chunksTableExists(db.sql))) {
    throw new VectorIndexError("This database has no chunks table yet: run npm run db:migrate (or start the app once) first.");
  }
  const [built, building] = await Promise.all([vectorIndexBuilt(db.sql), vectorIndexBuildProgress(db.sql)]);
  const configured = configuredVectorIndex();
  const matchesSettings = built !== null && built.m === configured.m && built.efConstruction === configured.efConstruction;
  return { built, configured, matchesSettings, building };
}

/** The vector index against the settings, for admins (the retrieval page). */
export async function vectorIndexReport(ctx: AccessContext): Promise<VectorIndexStatus> {
  requireAdmin(ctx);
  return vectorIndexStatus(ctx.db);
}

/**
 * Builds the index anew with the configured graph parameters, beside the old one (CREATE INDEX
 * CONCURRENTLY under another name), then drops the old one and gives the new one its name: searches and
 * writes go on throughout, on the old index until the new one is ready. What a rebuild that died left
 * behind (an invalid index under the rebuild's name) is dropped first. One rebuild at a time: it runs on a
 * connection of its own holding an advisory lock, so a second one, even started in the same instant,
 * cannot drop the first one's new index. `onProgress` is called every `progressEveryMs` with
 * PostgreSQL's own progress of the build.
 */
export async function rebuildVectorIndex(
  db: Db,
  opts: { onProgress?: (p: IndexBuildProgress) => void; progressEveryMs?: number } = {},
): Promise<VectorIndexOptions & { ms: number }> {
  if (db.kind !== "postgres" || !db.url) {
    throw new VectorIndexError("The embedded database cannot build an index beside the old one: rebuilding the vector index needs PostgreSQL (DATABASE_URL).");
  }
  const options = configuredVectorIndex();
  const started = performance.now();
  const locked = await withSessionLock(db.url, VECTOR_INDEX_REBUILD_LOCK, async (sql) => {
    if ((await vectorIndexState(sql)).building) {
      throw new VectorIndexError("An index on chunks is being built right now (a bulk first import): wait for it to finish, then try again.");
    }
    await dropVectorIndexConcurrently(sql, VECTOR_INDEX_REBUILD);
    const timer = opts.onProgress
      ? setInterval(() => {
          void vectorIndexBuildProgress(db.sql).then((p) => p && opts.onProgress!(p), () => undefined);
        }, opts.progressEveryMs ?? 10_000)
      : null;
    try {
      await createVectorIndexConcurrently(sql, options, VECTOR_INDEX_REBUILD);
    } catch (err) {
      await dropVectorIndexConcurrently(sql, VECTOR_INDEX_REBUILD).catch(() => undefined);
      throw err;
    } finally {
      if (timer) clearInterval(timer);
    }
    await dropVectorIndexConcurrently(sql);
    await renameRebuiltVectorIndex(sql);
  });
  if (!locked) throw new VectorIndexError("Another rebuild of the vector index is running: wait for it to finish, then try again.");
  const ms = Math.round(performance.now() - started);
  log("info", "vector index rebuilt", { ...options, ms });
  return { ...options, ms };
}
