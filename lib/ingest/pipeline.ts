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
import {
  softDeleteDocumentRows,
  storedDocuments,
  storedVectors,
  upsertDocumentsWithChunks,
  type ChunkWrite,
  type DocumentWrite,
  type StoredDocumentRow,
} from "./queries";

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

/**
 * One pass over documents with distinct external ids. Three stages run at once, so that neither the
 * database nor the embedder waits for the others:
 *   planStage  — hash and chunk the documents, a wave at a time, and look up reusable vectors;
 *   embedStage — one call at a time, full batches of texts in document order;
 *   writeStage — a few transactions at once, each several documents whose vectors are all there.
 * They share one PassState: what planning produced, what embedding has done, and a signal for "something
 * moved" that a waiting stage sleeps on.
 */
async function ingestPass(db: Db, target: IngestTarget, docs: SourceDocument[], opts: PipelineOptions): Promise<IngestResult> {
  const state = new PassState(db, target, opts);
  if (docs.length === 0) return state.result;
  // The hot path uses plain SQL (db.sql): a Prisma round trip costs several times more than the
  // statement itself, and a bulk import makes thousands of them.
  const stored = await storedDocuments(db.sql, target.sourceId, docs.map((d) => d.externalId));
  const planning = planStage(state, docs, new Map(stored.map((r) => [r.external_id, r])));
  planning.catch(() => undefined); // its error is thrown below, once the writers are done
  const embedding = embedStage(state);
  const written = await writeStage(state);
  await Promise.all([planning, embedding]);
  state.result.outcomes.push(...written);
  return state.result;
}

/** What the stages of one pass share. Each field says which stage writes it; the others only read it. */
class PassState {
  readonly llm: Pick<Llm, "embed" | "models">;
  readonly model: string;
  readonly batchSize: number;
  readonly maxTokens: number;
  readonly result: IngestResult = { outcomes: [], embedCalls: 0, embeddedChunks: 0, reusedChunks: 0, pendingChunks: 0, batchSizes: [] };

  // planStage:
  /** Documents to write, in order. */
  readonly planned: Planned[] = [];
  /** `ready[k]`: how many of the texts to embed must be done before documents 0..k have all their vectors. */
  readonly ready: number[] = [];
  /** [content hash, text] to embed, in the order they are embedded. */
  readonly toEmbed: Array<[string, string]> = [];
  /** content hash → its 1-based place in `toEmbed`. */
  readonly embedOrder = new Map<string, number>();
  planning = true;
  /** An atomic pass's planning failure: nothing may be written. */
  planError: unknown = null;

  // planStage (stored vectors) and embedStage (new ones): content hash → vector literal.
  readonly vectors = new Map<string, string>();

  // embedStage:
  /** Texts embedded so far. */
  embedded = 0;
  /** Ollama failed: the rest is stored without vectors (the backfill embeds it). */
  embedStopped = false;

  private waiters: Array<() => void> = [];

  constructor(
    readonly db: Db,
    readonly target: IngestTarget,
    readonly opts: PipelineOptions,
  ) {
    const config = getConfig();
    this.llm = opts.llm ?? getLlm();
    this.model = this.llm.models.embed;
    this.batchSize = opts.batchSize ?? config.INGEST_EMBED_BATCH_SIZE;
    this.maxTokens = opts.maxTokens ?? config.INGEST_CHUNK_MAX_TOKENS;
  }

  /** Wakes every stage waiting for progress. */
  moved(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  /** Resolves at the next `moved()`. */
  nextMove(): Promise<void> {
    return new Promise<void>((resolve) => this.waiters.push(resolve));
  }

  /** Whether document k has all the vectors it will get. */
  isReady(k: number): boolean {
    return this.embedStopped || this.ready[k] <= this.embedded;
  }

  /** Whether every vector that will be computed is there. */
  allEmbedded(): boolean {
    return !this.planning && (this.embedStopped || this.embedded >= this.toEmbed.length);
  }
}

/** Hashes and chunks the documents a wave at a time; unchanged ones are done here. */
async function planStage(state: PassState, docs: SourceDocument[], stored: Map<string, StoredDocumentRow>): Promise<void> {
  const { result, vectors, embedOrder, toEmbed } = state;
  try {
    for (let i = 0; i < docs.length; i += PLAN_WAVE_DOCS) {
      const wave: Planned[] = [];
      for (const doc of docs.slice(i, i + PLAN_WAVE_DOCS)) {
        const hash = documentHash(doc);
        const collectionId = doc.collectionId ?? state.target.collectionId;
        const prev = stored.get(doc.externalId);
        if (prev && !prev.deleted && prev.content_hash === hash && prev.collection_id === collectionId) {
          result.outcomes.push({ externalId: doc.externalId, status: "unchanged", documentId: prev.id, chunks: 0 });
          continue;
        }
        try {
          wave.push({ doc, hash, collectionId, chunks: chunkMarkdown(doc.title, doc.markdown, { maxTokens: state.maxTokens }) });
        } catch (err) {
          if (state.opts.atomic) throw new Error(`${doc.externalId}: ${(err as Error).message}`);
          result.outcomes.push({ externalId: doc.externalId, status: "failed", error: (err as Error).message, chunks: 0 });
        }
      }
      // Vectors: reuse what is stored for the same text and model, embed the rest once per distinct hash.
      const lookup = [...new Set(wave.flatMap((p) => p.chunks.map((c) => c.contentHash)))].filter((h) => !vectors.has(h) && !embedOrder.has(h));
      if (lookup.length) {
        for (const r of await storedVectors(state.db.sql, lookup, state.model)) vectors.set(r.content_hash, r.v);
      }
      for (const p of wave) {
        let last = state.ready.length ? state.ready[state.ready.length - 1] : 0;
        for (const c of p.chunks) {
          if (vectors.has(c.contentHash)) continue;
          if (!embedOrder.has(c.contentHash)) embedOrder.set(c.contentHash, toEmbed.push([c.contentHash, c.embedText]));
          last = Math.max(last, embedOrder.get(c.contentHash)!);
        }
        state.planned.push(p);
        state.ready.push(last);
      }
      state.moved();
    }
  } catch (err) {
    state.planError = err;
    throw err;
  } finally {
    state.planning = false;
    state.moved();
  }
}

/** Embeds the planned texts in full batches, one call at a time, until planning is done and all are in. */
async function embedStage(state: PassState): Promise<void> {
  const { result, toEmbed, batchSize } = state;
  for (;;) {
    const available = toEmbed.length - state.embedded;
    if (available === 0 && !state.planning) break;
    if (available === 0 || (available < batchSize && state.planning)) {
      await state.nextMove();
      continue;
    }
    const batch = toEmbed.slice(state.embedded, state.embedded + batchSize);
    try {
      result.embedCalls++;
      const embeddings = await embedWithRetry(state.llm, batch.map(([, text]) => text));
      result.batchSizes.push(batch.length);
      result.embeddedChunks += batch.length;
      batch.forEach(([hash], j) => state.vectors.set(hash, toVectorLiteral(embeddings[j])));
      state.embedded += batch.length;
    } catch (err) {
      // Store the rest without vectors; the backfill job embeds them when Ollama is back.
      result.embedError = (err as Error).message;
      state.embedStopped = true;
      break;
    } finally {
      state.moved();
    }
  }
}

/**
 * Writes the planned documents whose vectors are there: several documents per transaction (one commit,
 * one trigger pass, one round trip for all of them); a few transactions at once to use the database's
 * cores. Returns each written document's outcome, in planned order.
 */
async function writeStage(state: PassState): Promise<DocumentOutcome[]> {
  const { db, opts, planned, result } = state;
  // Atomic: one transaction for everything, written once every vector is there.
  const maxDocs = opts.atomic ? Infinity : (opts.writeBatchDocs ?? WRITE_BATCH_DOCS);
  const maxChunks = opts.atomic ? Infinity : (opts.writeBatchChunks ?? WRITE_BATCH_CHUNKS);
  const writers = opts.atomic ? 1 : db.kind === "postgres" ? (opts.writers ?? WRITERS) : 1;
  const written: DocumentOutcome[] = [];
  let next = 0; // the first planned document not yet taken by a writer
  let busy = 0; // writers with a statement in flight
  const takeBatch = async (): Promise<[number, number] | null> => {
    for (;;) {
      // All or nothing: a document that could not be planned means none is written.
      if (opts.atomic && state.planError) throw state.planError;
      const allReady = state.allEmbedded();
      if (next >= planned.length && !state.planning) return null;
      // Once every vector is there, the rest is shared out evenly: no writer is left with a long tail.
      const limit = allReady ? Math.min(maxDocs, Math.ceil((planned.length - next) / writers)) : maxDocs;
      let end = next;
      let chunks = 0;
      while (end < planned.length && state.isReady(end) && end - next < limit && chunks < maxChunks) chunks += planned[end++].chunks.length;
      // A batch goes when it is full, when nothing more is coming, or when the database would idle.
      const go = opts.atomic ? allReady : end - next >= limit || chunks >= maxChunks || allReady || busy === 0;
      if (end > next && go) {
        const start = next;
        next = end;
        return [start, end];
      }
      await state.nextMove();
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
  const write = (ks: number[]) => writeDocuments(db, state.target.sourceId, ks.map((k) => planned[k]), state.vectors, state.embedOrder, state.model);
  await Promise.all(
    Array.from({ length: writers }, async () => {
      for (let range = await takeBatch(); range; range = await takeBatch()) {
        const ks = Array.from({ length: range[1] - range[0] }, (_, i) => range[0] + i);
        busy++;
        try {
          const out = await write(ks);
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
              record(k, (await write([k]))[0]);
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
  return written;
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
 * alone when a batch fails). See upsertDocumentsWithChunks for the locks and the statement.
 */
async function writeDocuments(
  db: Db,
  sourceId: string,
  batch: Planned[],
  vectors: Map<string, string>,
  embeddedNow: ReadonlyMap<string, unknown>,
  model: string,
): Promise<Written[]> {
  const docs: DocumentWrite[] = batch.map((p, i) => ({
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
    p.chunks.map((c): ChunkWrite => {
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
  const rows = await upsertDocumentsWithChunks(db.sql, sourceId, docs, chunks);
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
  return softDeleteDocumentRows(db.sql, sourceId, externalIds);
}

/** After a full sync: soft-deletes every live document of the source that the sync did not see. */
export async function removeMissing(db: Db, sourceId: string, seenExternalIds: string[]): Promise<number> {
  const live = await db.prisma.document.findMany({ where: { sourceId, deletedAt: null }, select: { externalId: true } });
  const seen = new Set(seenExternalIds);
  return softDeleteDocuments(db, sourceId, live.map((d) => d.externalId).filter((id) => !seen.has(id)));
}
