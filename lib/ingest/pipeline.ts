// The ingest pipeline: source documents → chunks → embeddings → one transaction per document.
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
}

export function documentHash(doc: SourceDocument): string {
  return createHash("sha256")
    .update(JSON.stringify([CHUNKER_VERSION, doc.title, doc.breadcrumb ?? [], doc.url ?? null, doc.properties ?? {}, doc.markdown]))
    .digest("hex");
}

type Planned = { doc: SourceDocument; hash: string; collectionId: string; chunks: TextChunk[] };

/** Ingests a group of documents of one source. One failing document never stops the others. */
export async function ingestDocuments(db: Db, target: IngestTarget, docs: SourceDocument[], opts: PipelineOptions = {}): Promise<IngestResult> {
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

  const planned: Planned[] = [];
  for (const doc of docs) {
    const hash = documentHash(doc);
    const collectionId = doc.collectionId ?? target.collectionId;
    const prev = byExternal.get(doc.externalId);
    if (prev && !prev.deletedAt && prev.contentHash === hash && prev.collectionId === collectionId) {
      result.outcomes.push({ externalId: doc.externalId, status: "unchanged", documentId: prev.id, chunks: 0 });
      continue;
    }
    try {
      planned.push({ doc, hash, collectionId, chunks: chunkMarkdown(doc.title, doc.markdown, { maxTokens }) });
    } catch (err) {
      result.outcomes.push({ externalId: doc.externalId, status: "failed", error: (err as Error).message, chunks: 0 });
    }
  }
  if (planned.length === 0) return result;

  // Vectors: reuse what is stored for the same text and model, embed the rest once per distinct hash.
  const allHashes = [...new Set(planned.flatMap((p) => p.chunks.map((c) => c.contentHash)))];
  const vectors = new Map<string, string>();
  if (allHashes.length) {
    const rows = await db.sql.query<{ content_hash: string; v: string }>(
      `SELECT DISTINCT ON (content_hash) content_hash, embedding::text AS v FROM chunks
       WHERE content_hash = ANY($1::text[]) AND embedding_model = $2 AND embedding IS NOT NULL`,
      [allHashes, model],
    );
    for (const r of rows) vectors.set(r.content_hash, r.v);
  }
  const toEmbed = new Map<string, string>();
  for (const p of planned) for (const c of p.chunks) if (!vectors.has(c.contentHash)) toEmbed.set(c.contentHash, c.embedText);
  const pending = [...toEmbed.entries()];
  for (let i = 0; i < pending.length; i += batchSize) {
    const batch = pending.slice(i, i + batchSize);
    try {
      result.embedCalls++;
      const embeddings = await embedWithRetry(llm, batch.map(([, text]) => text));
      result.batchSizes.push(batch.length);
      result.embeddedChunks += batch.length;
      batch.forEach(([hash], j) => vectors.set(hash, toVectorLiteral(embeddings[j])));
    } catch (err) {
      // Store the rest without vectors; the backfill job embeds them when Ollama is back.
      result.embedError = (err as Error).message;
      break;
    }
  }

  // Documents are independent transactions: write a few at once to use the database's cores.
  const written = await mapLimit(planned, db.kind === "postgres" ? 4 : 1, async (p): Promise<DocumentOutcome> => {
    try {
      const { documentId, created } = await writeDocument(db, target.sourceId, p, vectors, model);
      for (const c of p.chunks) {
        if (!vectors.has(c.contentHash)) result.pendingChunks++;
        else if (!toEmbed.has(c.contentHash)) result.reusedChunks++;
      }
      return { externalId: p.doc.externalId, status: created ? "created" : "updated", documentId, chunks: p.chunks.length };
    } catch (err) {
      return { externalId: p.doc.externalId, status: "failed", error: (err as Error).message, chunks: 0 };
    }
  });
  result.outcomes.push(...written);
  return result;
}

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

/** One document's row and all its chunks, in one transaction, serialised per document. */
async function writeDocument(db: Db, sourceId: string, p: Planned, vectors: Map<string, string>, model: string) {
  const { doc } = p;
  const rows = p.chunks.map((c) => ({
    position: c.position,
    heading_path: c.headingPath,
    anchor: c.anchor,
    text: c.text,
    token_count: c.tokenCount,
    content_hash: c.contentHash,
    embedding_model: vectors.has(c.contentHash) ? model : null,
    embedding: vectors.get(c.contentHash) ?? null,
  }));
  // One statement = one transaction, in one round trip: the advisory lock (two syncs of one page must
  // not interleave), the document upsert, and the replacement of its changed chunks. Data-modifying CTEs
  // share one snapshot, so the DELETE sees only the old chunks and the INSERT adds the new ones.
  const [row] = await db.sql.query<{ id: string; created: boolean }>(
    `WITH lock AS (SELECT pg_advisory_xact_lock(hashtext($1)) AS l),
    doc AS (
      INSERT INTO documents (source_id, collection_id, external_id, url, title, breadcrumb, properties, content_hash, source_updated_at, deleted_at, updated_at)
      SELECT $2::uuid, $3::uuid, $4, $5, $6, $7::text[], $8::jsonb, $9, $10::timestamptz, NULL, now()
      FROM lock
      ON CONFLICT (source_id, external_id) DO UPDATE SET
        collection_id = EXCLUDED.collection_id, url = EXCLUDED.url, title = EXCLUDED.title, breadcrumb = EXCLUDED.breadcrumb,
        properties = EXCLUDED.properties, content_hash = EXCLUDED.content_hash, source_updated_at = EXCLUDED.source_updated_at,
        deleted_at = NULL, updated_at = now()
      RETURNING id, (xmax = 0) AS created),
    new AS (
      SELECT * FROM jsonb_to_recordset($11::jsonb) AS x(position int, heading_path text[], anchor text, text text,
           token_count int, content_hash text, embedding_model text, embedding text)),
    -- A chunk with the same text, place and vector model stays as it is: rewriting it would cost a
    -- new HNSW entry for nothing (an edit of one paragraph of a long page touches one chunk).
    kept AS (
      SELECT c.id, c.position FROM chunks c JOIN new n
        ON c.content_hash = n.content_hash AND c.position = n.position AND c.anchor IS NOT DISTINCT FROM n.anchor
       AND c.embedding_model IS NOT DISTINCT FROM n.embedding_model
      WHERE c.document_id = (SELECT id FROM doc) AND c.collection_id = $3::uuid),
    removed AS (DELETE FROM chunks WHERE document_id = (SELECT id FROM doc) AND id NOT IN (SELECT id FROM kept)),
    added AS (
      INSERT INTO chunks (document_id, collection_id, position, heading_path, anchor, text, token_count, content_hash, embedding_model, embedding)
      SELECT (SELECT id FROM doc), $3::uuid, n.position, n.heading_path, n.anchor, n.text, n.token_count, n.content_hash,
             n.embedding_model, n.embedding::vector
      FROM new n WHERE n.position NOT IN (SELECT position FROM kept)
      RETURNING 1)
    SELECT id::text AS id, created, (SELECT count(*) FROM added)::int AS chunks FROM doc`,
    [
      `${sourceId}:${doc.externalId}`,
      sourceId,
      p.collectionId,
      doc.externalId,
      doc.url ?? null,
      doc.title,
      doc.breadcrumb ?? [],
      JSON.stringify(doc.properties ?? {}),
      p.hash,
      doc.updatedAt ? doc.updatedAt.toISOString() : null,
      JSON.stringify(rows),
    ],
  );
  return { documentId: row.id, created: row.created };
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

async function mapLimit<T, R>(items: T[], limit: number, fn: (t: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i]);
      }
    }),
  );
  return out;
}
