// The ingest pipeline: source documents → chunks → embeddings → a few documents per transaction, each
// document all-or-nothing (a failing batch is retried one document per transaction).
//
// Cost rules (issue #3): a document whose content hash is unchanged costs no chunking, no embedding
// and no write; a chunk whose hash already has a vector from the current embedding model (in any
// document) reuses it; only the remaining texts are embedded, in batches, through lib/llm (which adds
// the `search_document: ` prefix). When Ollama is unreachable, chunks are stored without vectors
// (full-text search still finds them) and the embed backfill job fills them in later.
import { createHash } from "node:crypto";
import { getConfig } from "../config";
import type { Db } from "../db/client";
import { getLlm, type Llm } from "../llm";
import { chunkMarkdown, type TextChunk } from "./chunker";

/** Bump when chunking rules change: every document is then re-chunked on its next sync. */
export const CHUNKER_VERSION = 1;

export interface SourceDocument {
  externalId: string;
  title: string;
  markdown: string;
  url?: string | null;
  breadcrumb?: string[];
  properties?: Record<string, unknown>;
  updatedAt?: Date | null;
  /** Overrides the target collection for this document (S3 prefix routing). */
  collectionId?: string;
}

export interface IngestTarget {
  sourceId: string;
  collectionId: string;
}

export type DocumentOutcome =
  | { externalId: string; status: "created" | "updated"; documentId: string; chunks: number }
  | { externalId: string; status: "unchanged"; documentId: string; chunks: 0 }
  | { externalId: string; status: "failed"; error: string; chunks: 0 };

export interface IngestResult {
  outcomes: DocumentOutcome[];
  /** /api/embed calls made. */
  embedCalls: number;
  /** Texts sent to the embedder. */
  embeddedChunks: number;
  /** Chunks that reused a stored vector with the same hash. */
  reusedChunks: number;
  /** Chunks stored without a vector because the embedder was unavailable. */
  pendingChunks: number;
  batchSizes: number[];
  embedError?: string;
}

export interface PipelineOptions {
  llm?: Pick<Llm, "embed" | "models">;
  batchSize?: number;
  maxTokens?: number;
  /** Documents per write transaction (default 32), closed early at `writeBatchChunks` chunks (default 64). */
  writeBatchDocs?: number;
  writeBatchChunks?: number;
  /** Concurrent write transactions on PostgreSQL (default 3; PGlite: 1). */
  writers?: number;
  /**
   * All or nothing: every document is written in ONE transaction once all vectors are there, and any
   * failure (a document that cannot be chunked or written) throws with nothing written. A multi-file
   * upload is one such unit, so a crash mid-request never leaves part of it behind.
   */
  atomic?: boolean;
}

export function documentHash(doc: SourceDocument): string {
  return createHash("sha256")
    .update(JSON.stringify([CHUNKER_VERSION, doc.title, doc.breadcrumb ?? [], doc.url ?? null, doc.properties ?? {}, doc.markdown]))
    .digest("hex");
}

type Planned = { doc: SourceDocument; hash: string; collectionId: string; chunks: TextChunk[] };

/** Ingests a group of documents of one source. One failing document never stops the others. */
export async function ingestDocuments(db: Db, target: IngestTarget, docs: SourceDocument[], opts: PipelineOptions = {}): Promise<IngestResult> {
  // The same page more than once in one call: the later version must win, and concurrent writers give
  // no order, so each later occurrence goes in a pass after the one before it has been written.
  const seen = new Set<string>();
  const firstPass: SourceDocument[] = [];
  const later: SourceDocument[] = [];
  for (const doc of docs) {
    (seen.has(doc.externalId) ? later : firstPass).push(doc);
    seen.add(doc.externalId);
  }
  if (later.length === 0) return ingestPass(db, target, docs, opts);
  if (opts.atomic) throw new Error("ingestDocuments: an atomic ingest takes each document once");
  const a = await ingestPass(db, target, firstPass, opts);
  const b = await ingestDocuments(db, target, later, opts);
  return {
    outcomes: [...a.outcomes, ...b.outcomes],
    embedCalls: a.embedCalls + b.embedCalls,
    embeddedChunks: a.embeddedChunks + b.embeddedChunks,
    reusedChunks: a.reusedChunks + b.reusedChunks,
    pendingChunks: a.pendingChunks + b.pendingChunks,
    batchSizes: [...a.batchSizes, ...b.batchSizes],
    ...((a.embedError ?? b.embedError) ? { embedError: a.embedError ?? b.embedError } : {}),
  };
}

/** One pass over documents with distinct external ids. */
async function ingestPass(db: Db, target: IngestTarget, docs: SourceDocument[], opts: PipelineOptions): Promise<IngestResult> {
  const config = getConfig();
  const llm = opts.llm ?? getLlm();
  const model = llm.models.embed;
  const batchSize = opts.batchSize ?? config.INGEST_EMBED_BATCH_SIZE;
  const maxTokens = opts.maxTokens ?? config.INGEST_CHUNK_MAX_TOKENS;
  const result: IngestResult = { outcomes: [], embedCalls: 0, embeddedChunks: 0, reusedChunks: 0, pendingChunks: 0, batchSizes: [] };
  if (docs.length === 0) return result;

  // The hot path uses plain SQL (db.sql): a Prisma round trip costs several times more than the
  // statement itself, and a bulk import makes thousands of them.
  const existing = (
    await db.sql.query<{ id: string; external_id: string; content_hash: string; deleted: boolean; collection_id: string }>(
      `SELECT id::text AS id, external_id, content_hash, deleted_at IS NOT NULL AS deleted, collection_id::text AS collection_id
       FROM documents WHERE source_id = $1::uuid AND external_id = ANY($2::text[])`,
      [target.sourceId, docs.map((d) => d.externalId)],
    )
  ).map((r) => ({ id: r.id, externalId: r.external_id, contentHash: r.content_hash, deletedAt: r.deleted, collectionId: r.collection_id }));
  const byExternal = new Map(existing.map((e) => [e.externalId, e]));

  // Three stages run at once, so that neither the database nor the embedder waits for the others:
  //   planning  — hash and chunk the documents, a wave at a time, and look up reusable vectors;
  //   embedding — one call at a time, full batches of texts in document order;
  //   writing   — a few transactions at once, each several documents whose vectors are all there.
  const planned: Planned[] = [];
  // `ready[k]`: how many of the texts to embed must be done before documents 0..k have all their vectors.
  const ready: number[] = [];
  const vectors = new Map<string, string>(); // content hash → vector literal
  const pending: Array<[string, string]> = []; // [content hash, text] to embed, in the order they are embedded
  const embedOrder = new Map<string, number>(); // content hash → its 1-based place in `pending`
  let planning = true;
  let embedded = 0; // texts embedded so far
  let embedStopped = false; // Ollama failed: the rest is stored without vectors (the backfill embeds it)
  let waiters: Array<() => void> = [];
  const progress = () => {
    const w = waiters;
    waiters = [];
    for (const f of w) f();
  };
  const nextProgress = () => new Promise<void>((resolve) => waiters.push(resolve));

  let planError: unknown = null;
  const planningDone = (async () => {
    try {
      for (let i = 0; i < docs.length; i += PLAN_WAVE_DOCS) {
        const wave: Planned[] = [];
        for (const doc of docs.slice(i, i + PLAN_WAVE_DOCS)) {
          const hash = documentHash(doc);
          const collectionId = doc.collectionId ?? target.collectionId;
          const prev = byExternal.get(doc.externalId);
          if (prev && !prev.deletedAt && prev.contentHash === hash && prev.collectionId === collectionId) {
            result.outcomes.push({ externalId: doc.externalId, status: "unchanged", documentId: prev.id, chunks: 0 });
            continue;
          }
          try {
            wave.push({ doc, hash, collectionId, chunks: chunkMarkdown(doc.title, doc.markdown, { maxTokens }) });
          } catch (err) {
            if (opts.atomic) throw new Error(`${doc.externalId}: ${(err as Error).message}`);
            result.outcomes.push({ externalId: doc.externalId, status: "failed", error: (err as Error).message, chunks: 0 });
          }
        }
        // Vectors: reuse what is stored for the same text and model, embed the rest once per distinct hash.
        const lookup = [...new Set(wave.flatMap((p) => p.chunks.map((c) => c.contentHash)))].filter((h) => !vectors.has(h) && !embedOrder.has(h));
        if (lookup.length) {
          const rows = await db.sql.query<{ content_hash: string; v: string }>(
            `SELECT DISTINCT ON (content_hash) content_hash, embedding::text AS v FROM chunks
             WHERE content_hash = ANY($1::text[]) AND embedding_model = $2 AND embedding IS NOT NULL`,
            [lookup, model],
          );
          for (const r of rows) vectors.set(r.content_hash, r.v);
        }
        for (const p of wave) {
          let last = ready.length ? ready[ready.length - 1] : 0;
          for (const c of p.chunks) {
            if (vectors.has(c.contentHash)) continue;
            if (!embedOrder.has(c.contentHash)) embedOrder.set(c.contentHash, pending.push([c.contentHash, c.embedText]));
            last = Math.max(last, embedOrder.get(c.contentHash)!);
          }
          planned.push(p);
          ready.push(last);
        }
        progress();
      }
    } catch (err) {
      planError = err;
      throw err;
    } finally {
      planning = false;
      progress();
    }
  })();

  planningDone.catch(() => undefined); // its error is thrown below, once the writers are done

  const embedding = (async () => {
    for (;;) {
      const available = pending.length - embedded;
      if (available === 0 && !planning) break;
      if (available === 0 || (available < batchSize && planning)) {
        await nextProgress();
        continue;
      }
      const batch = pending.slice(embedded, embedded + batchSize);
      try {
        result.embedCalls++;
        const embeddings = await embedWithRetry(llm, batch.map(([, text]) => text));
        result.batchSizes.push(batch.length);
        result.embeddedChunks += batch.length;
        batch.forEach(([hash], j) => vectors.set(hash, toVectorLiteral(embeddings[j])));
        embedded += batch.length;
      } catch (err) {
        // Store the rest without vectors; the backfill job embeds them when Ollama is back.
        result.embedError = (err as Error).message;
        embedStopped = true;
        break;
      } finally {
        progress();
      }
    }
  })();

  // Several documents per transaction (one commit, one trigger pass, one round trip for all of them);
  // a few transactions at once to use the database's cores.
  const maxDocs = opts.atomic ? Infinity : (opts.writeBatchDocs ?? WRITE_BATCH_DOCS);
  const maxChunks = opts.atomic ? Infinity : (opts.writeBatchChunks ?? WRITE_BATCH_CHUNKS);
  const writers = opts.atomic ? 1 : db.kind === "postgres" ? (opts.writers ?? WRITERS) : 1;
  const written: DocumentOutcome[] = [];
  let next = 0;
  let busy = 0; // writers with a statement in flight
  const isReady = (k: number) => embedStopped || ready[k] <= embedded;
  const takeBatch = async (): Promise<[number, number] | null> => {
    for (;;) {
      // All or nothing: a document that could not be planned means none is written.
      if (opts.atomic && planError) throw planError;
      const allReady = !planning && (embedStopped || embedded >= pending.length);
      if (next >= planned.length && !planning) return null;
      // Once every vector is there, the rest is shared out evenly: no writer is left with a long tail.
      const limit = allReady ? Math.min(maxDocs, Math.ceil((planned.length - next) / writers)) : maxDocs;
      let end = next;
      let chunks = 0;
      while (end < planned.length && isReady(end) && end - next < limit && chunks < maxChunks) chunks += planned[end++].chunks.length;
      // A batch goes when it is full, when nothing more is coming, or when the database would idle.
      const go = opts.atomic ? allReady : end - next >= limit || chunks >= maxChunks || allReady || busy === 0;
      if (end > next && go) {
        const start = next;
        next = end;
        return [start, end];
      }
      await nextProgress();
    }
  };
  const record = (k: number, w: Written) => {
    const p = planned[k];
    result.pendingChunks += w.pending;
    result.reusedChunks += w.reused;
    written[k] = { externalId: p.doc.externalId, status: w.created ? "created" : "updated", documentId: w.documentId, chunks: p.chunks.length };
  };
  const fail = (k: number, err: unknown) => {
    written[k] = { externalId: planned[k].doc.externalId, status: "failed", error: (err as Error).message, chunks: 0 };
  };
  await Promise.all(
    Array.from({ length: writers }, async () => {
      for (let range = await takeBatch(); range; range = await takeBatch()) {
        const ks = Array.from({ length: range[1] - range[0] }, (_, i) => range[0] + i);
        busy++;
        try {
          const out = await writeDocuments(db, target.sourceId, ks.map((k) => planned[k]), vectors, embedOrder, model);
          ks.forEach((k, i) => record(k, out[i]));
        } catch (err) {
          if (opts.atomic) throw err;
          if (ks.length === 1) {
            fail(ks[0], err);
            continue;
          }
          // One bad document must not cost the others: each is tried again in its own transaction.
          for (const k of ks) {
            try {
              record(k, (await writeDocuments(db, target.sourceId, [planned[k]], vectors, embedOrder, model))[0]);
            } catch (e) {
              fail(k, e);
            }
          }
        } finally {
          busy--;
        }
      }
    }),
  );
  await Promise.all([planningDone, embedding]);
  result.outcomes.push(...written);
  return result;
}

/** Documents hashed and chunked per planning step. */
const PLAN_WAVE_DOCS = 32;
/** Documents per write transaction, and the chunk count at which a batch closes early. */
const WRITE_BATCH_DOCS = 32;
const WRITE_BATCH_CHUNKS = 64;
/**
 * Concurrent write transactions on PostgreSQL. Most of a chunk's write is its HNSW insert (CPU-bound,
 * ~70% of the database's time in bench:ingest): on 2 cores, 3 writers kept them busiest; more add lock
 * and cache contention inside the index.
 */
const WRITERS = 3;

/**
 * One batch through lib/llm, tried twice: a reused keep-alive connection closed by the server at the
 * same moment fails once and succeeds at once; a real outage fails both and is left to the backfill.
 */
export async function embedWithRetry(llm: Pick<Llm, "embed">, texts: string[]): Promise<number[][]> {
  try {
    return await llm.embed(texts, "document");
  } catch {
    await new Promise((r) => setTimeout(r, 300));
    return llm.embed(texts, "document");
  }
}

export function toVectorLiteral(v: number[]): string {
  return `[${v.join(",")}]`;
}

type Written = { documentId: string; created: boolean; pending: number; reused: number };

/**
 * Documents' rows and all their chunks in one transaction: all of them or none (the caller retries each
 * alone when a batch fails). The advisory locks of the documents come first, taken in a fixed order (two
 * syncs of one page must not interleave, two batches must not deadlock); then ONE statement upserts the
 * documents and replaces their changed chunks. Data-modifying CTEs share one snapshot, so the DELETE sees
 * only the old chunks and the INSERT adds the new ones.
 */
async function writeDocuments(
  db: Db,
  sourceId: string,
  batch: Planned[],
  vectors: Map<string, string>,
  embeddedNow: ReadonlyMap<string, unknown>,
  model: string,
): Promise<Written[]> {
  const docs = batch.map((p, i) => ({
    i,
    collection_id: p.collectionId,
    external_id: p.doc.externalId,
    url: p.doc.url ?? null,
    title: p.doc.title,
    breadcrumb: p.doc.breadcrumb ?? [],
    properties: p.doc.properties ?? {},
    content_hash: p.hash,
    source_updated_at: p.doc.updatedAt ? p.doc.updatedAt.toISOString() : null,
  }));
  const counts = batch.map(() => ({ pending: 0, reused: 0 }));
  const chunks = batch.flatMap((p, i) =>
    p.chunks.map((c) => {
      const v = vectors.get(c.contentHash) ?? null;
      if (v === null) counts[i].pending++;
      else if (!embeddedNow.has(c.contentHash)) counts[i].reused++;
      return {
        i,
        position: c.position,
        heading_path: c.headingPath,
        anchor: c.anchor,
        text: c.text,
        token_count: c.tokenCount,
        content_hash: c.contentHash,
        embedding_model: v === null ? null : model,
        embedding: v,
      };
    }),
  );
  const rows = await db.sql.transaction(async (tx) => {
    // The locks in a statement of their own: a statement's snapshot is taken when it starts, so a write
    // that waited for a lock inside itself would not see what the sync it waited for committed (and
    // would keep that sync's chunks beside its own).
    await tx.query(`SELECT count(pg_advisory_xact_lock(k)) FROM (SELECT DISTINCT hashtext(key) AS k FROM unnest($1::text[]) AS key ORDER BY 1) s`, [
      batch.map((p) => `${sourceId}:${p.doc.externalId}`),
    ]);
    return tx.query<{ id: string; external_id: string; created: boolean }>(
      `WITH d AS (
        SELECT x.* FROM jsonb_to_recordset($2::jsonb) AS x(i int, collection_id uuid, external_id text, url text, title text,
             breadcrumb text[], properties jsonb, content_hash text, source_updated_at timestamptz)),
      doc AS (
        INSERT INTO documents (source_id, collection_id, external_id, url, title, breadcrumb, properties, content_hash, source_updated_at, deleted_at, updated_at)
        SELECT $1::uuid, collection_id, external_id, url, title, breadcrumb, properties, content_hash, source_updated_at, NULL, now()
        FROM d ORDER BY i
        ON CONFLICT (source_id, external_id) DO UPDATE SET
          collection_id = EXCLUDED.collection_id, url = EXCLUDED.url, title = EXCLUDED.title, breadcrumb = EXCLUDED.breadcrumb,
          properties = EXCLUDED.properties, content_hash = EXCLUDED.content_hash, source_updated_at = EXCLUDED.source_updated_at,
          deleted_at = NULL, updated_at = now()
        RETURNING id, external_id, collection_id, (xmax = 0) AS created),
      new AS (
        SELECT doc.id AS document_id, doc.collection_id, n.*
        FROM jsonb_to_recordset($3::jsonb) AS n(i int, position int, heading_path text[], anchor text, text text,
             token_count int, content_hash text, embedding_model text, embedding text)
        JOIN d ON d.i = n.i JOIN doc ON doc.external_id = d.external_id),
      -- A chunk with the same text, place and vector model stays as it is: rewriting it would cost a
      -- new HNSW entry for nothing (an edit of one paragraph of a long page touches one chunk).
      kept AS (
        SELECT c.id, c.document_id, c.position FROM chunks c JOIN new n
          ON c.document_id = n.document_id AND c.content_hash = n.content_hash AND c.position = n.position
         AND c.anchor IS NOT DISTINCT FROM n.anchor AND c.embedding_model IS NOT DISTINCT FROM n.embedding_model
         AND c.collection_id = n.collection_id),
      removed AS (
        DELETE FROM chunks c USING doc WHERE c.document_id = doc.id AND NOT EXISTS (SELECT 1 FROM kept k WHERE k.id = c.id)),
      added AS (
        INSERT INTO chunks (document_id, collection_id, position, heading_path, anchor, text, token_count, content_hash, embedding_model, embedding)
        SELECT n.document_id, n.collection_id, n.position, n.heading_path, n.anchor, n.text, n.token_count, n.content_hash,
               n.embedding_model, n.embedding::vector
        FROM new n WHERE NOT EXISTS (SELECT 1 FROM kept k WHERE k.document_id = n.document_id AND k.position = n.position))
      SELECT id::text AS id, external_id, created FROM doc`,
      [sourceId, JSON.stringify(docs), JSON.stringify(chunks)],
    );
  });
  const byExternal = new Map(rows.map((r) => [r.external_id, r]));
  return batch.map((p, i) => {
    const row = byExternal.get(p.doc.externalId);
    if (!row) throw new Error(`document ${p.doc.externalId} was not written`);
    return { documentId: row.id, created: row.created, ...counts[i] };
  });
}

/** Soft-deletes documents: the row stays (for undelete), the chunks leave the index. */
export async function softDeleteDocuments(db: Db, sourceId: string, externalIds: string[]): Promise<number> {
  if (externalIds.length === 0) return 0;
  return db.prisma.$transaction(async (tx) => {
    const ids = await tx.$queryRaw<Array<{ id: string }>>`
      UPDATE documents SET deleted_at = now(), updated_at = now()
      WHERE source_id = ${sourceId}::uuid AND external_id = ANY(${externalIds}::text[]) AND deleted_at IS NULL
      RETURNING id::text AS id`;
    if (ids.length) await tx.$executeRaw`DELETE FROM chunks WHERE document_id = ANY(${ids.map((i) => i.id)}::uuid[])`;
    return ids.length;
  });
}

/** After a full sync: soft-deletes every live document of the source that the sync did not see. */
export async function removeMissing(db: Db, sourceId: string, seenExternalIds: string[]): Promise<number> {
  const live = await db.prisma.document.findMany({ where: { sourceId, deletedAt: null }, select: { externalId: true } });
  const seen = new Set(seenExternalIds);
  return softDeleteDocuments(db, sourceId, live.map((d) => d.externalId).filter((id) => !seen.has(id)));
}
