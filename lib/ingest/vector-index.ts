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
import { getConfig } from "../config";
import type { Db } from "../db/client";
import { log } from "../log";
import {
  chunkCountUpTo,
  createVectorIndexConcurrently,
  dropVectorIndexConcurrently,
  vectorIndexState,
} from "./queries";

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
  if (state.exists) await dropVectorIndexConcurrently(db.sql); // a failed concurrent build leaves an invalid index
  try {
    await createVectorIndexConcurrently(db.sql);
  } catch (err) {
    // Two sessions creating it in the same instant: the other one's build stands.
    if ((await vectorIndexState(db.sql)).exists) return "building elsewhere";
    throw err;
  }
  return "built";
}
