// Vectors that are missing or come from another embedding model.
//
// - Missing: chunks stored while Ollama was unreachable (first start of the demo wiki without Ollama,
//   an outage during an import). They are searchable by full text meanwhile; this fills their vectors.
// - Stale: chunks embedded with a previous OLLAMA_EMBED_MODEL. New vectors are staged in
//   chunk_embeddings_staged while the old ones keep serving, then swapped in by one transaction once
//   every stale chunk has one, so search never mixes half the index in one model and half in another.
import { getConfig } from "../config";
import { getDb, type Db } from "../db/client";
import { defineJob, enqueue } from "../jobs/queue";
import { getLlm, type Llm } from "../llm";
import { log } from "../log";
import { prefixFor } from "./chunker";
import { embedWithRetry, toVectorLiteral } from "./pipeline";
import {
  chunksToRestage,
  chunksWithoutVector,
  countUnstaged,
  countWithoutCurrentVector,
  dropStagedOfOtherModels,
  fillVectors,
  mostUsedEmbeddingModel,
  reuseStoredVectors,
  stageVectors,
  swapInStagedVectors,
  type BackfillRow,
} from "./queries";

export interface BackfillResult {
  embedded: number;
  reused: number;
  staged: number;
  swapped: number;
  embedCalls: number;
  /** Chunks still without a current-model vector. */
  remaining: number;
  /** Why embedding stopped early (Ollama unreachable), if it did. */
  error?: string;
}

type Row = BackfillRow;

export interface BackfillOptions {
  llm?: Pick<Llm, "embed" | "models">;
  batchSize?: number;
  /** Stop after this many chunks (the job re-enqueues itself for the rest). */
  limit?: number;
}

export async function backfillEmbeddings(db: Db, opts: BackfillOptions = {}): Promise<BackfillResult> {
  const llm = opts.llm ?? getLlm();
  const model = llm.models.embed;
  const batchSize = opts.batchSize ?? getConfig().INGEST_EMBED_BATCH_SIZE;
  const limit = opts.limit ?? 5000;
  const out: BackfillResult = { embedded: 0, reused: 0, staged: 0, swapped: 0, embedCalls: 0, remaining: 0 };

  // 1. Missing vectors whose text is already embedded elsewhere with this model: copy, no call.
  out.reused = await reuseStoredVectors(db.sql, model);

  // 2. Missing vectors: embed and write in place (they serve nothing yet, so no staging needed).
  while (out.embedded < limit && !out.error) {
    const rows = await chunksWithoutVector(db.sql, batchSize);
    if (rows.length === 0) break;
    const vectors = await embedRows(llm, rows, out);
    if (!vectors) break;
    await fillVectors(db.sql, model, rows.map((r, i) => ({ id: r.id, v: vectors[i] })));
    out.embedded += rows.length;
  }

  // 3. Stale vectors: stage new ones beside the old.
  if (!out.error) {
    await dropStagedOfOtherModels(db.sql, model);
    while (out.staged < limit && !out.error) {
      const rows = await chunksToRestage(db.sql, model, batchSize);
      if (rows.length === 0) break;
      const vectors = await embedRows(llm, rows, out);
      if (!vectors) break;
      await stageVectors(db.sql, model, rows.map((r, i) => ({ id: r.id, v: vectors[i] })));
      out.staged += rows.length;
    }
  }

  // 4. Swap when every stale chunk has its staged vector.
  if ((await countUnstaged(db.sql, model)) === 0) out.swapped = await swapInStagedVectors(db.sql, model);

  out.remaining = await countWithoutCurrentVector(db.sql, model);
  return out;
}

async function embedRows(llm: Pick<Llm, "embed">, rows: Row[], out: BackfillResult): Promise<string[] | null> {
  try {
    out.embedCalls++;
    const embeddings = await embedWithRetry(
      llm,
      rows.map((r) => `${prefixFor(r.title, r.heading_path)}\n\n${r.text}`),
    );
    return embeddings.map(toVectorLiteral);
  } catch (err) {
    out.error = (err as Error).message;
    return null;
  }
}

/**
 * The embedding model most stored vectors come from: the model query vectors must use for search to
 * match, which differs from OLLAMA_EMBED_MODEL while a re-embed is staging (null: no vectors yet).
 */
export async function servingEmbeddingModel(db: Db): Promise<string | null> {
  return mostUsedEmbeddingModel(db.sql);
}

/** The job that runs backfillEmbeddings until nothing is left (ingest.embed-backfill). */
export const backfillJob = defineJob<Record<string, never>>({
  name: "ingest.embed-backfill",
  // One queued + one running at most: requests while one waits collapse into it.
  policy: "stately",
  retryLimit: 1,
  expireInSeconds: 3600,
  async handler() {
    const db = await getDb();
    const r = await backfillEmbeddings(db);
    log("info", "embed backfill", { embedded: r.embedded, reused: r.reused, staged: r.staged, swapped: r.swapped, remaining: r.remaining, error: r.error });
    // Still work to do (Ollama down, or more than one run's limit): come back later.
    if (r.remaining > 0) {
      const delay = r.error ? getConfig().INGEST_EMBED_RETRY_SECONDS : 1;
      await enqueue(backfillJob, {}, { startAfter: delay });
    }
  },
});

/**
 * Queues the backfill soon (chunks were stored without vectors). A request while one is queued joins it.
 * A queue that cannot be reached is logged, not thrown: the stored chunks are searchable by full text, and
 * every start requests the backfill again.
 */
export async function requestBackfill(): Promise<void> {
  await enqueue(backfillJob, {}, { startAfter: 1 }).catch((err) => log("warn", "could not enqueue the embed backfill", { error: (err as Error).message }));
}
