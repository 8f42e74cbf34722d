// Ingest's SQL: what is stored for a source's documents, reusable vectors, and the one-statement write of
// a batch of documents with their chunks. Plain SQL on purpose: on this hot path a Prisma round trip costs
// several times the statement itself, and a bulk import makes thousands of them.
import type { SqlRunner } from "../db/sql-runner";

export interface StoredDocumentRow {
  id: string;
  external_id: string;
  content_hash: string;
  deleted: boolean;
  collection_id: string;
}

export function storedDocuments(sql: SqlRunner, sourceId: string, externalIds: string[]): Promise<StoredDocumentRow[]> {
  return sql<StoredDocumentRow>`
    SELECT id::text AS id, external_id, content_hash, deleted_at IS NOT NULL AS deleted, collection_id::text AS collection_id
    FROM documents WHERE source_id = ${sourceId}::uuid AND external_id = ANY(${externalIds}::text[])`;
}

/** Vectors already stored for these chunk texts (by content hash) from `model`, as pgvector text. */
export function storedVectors(sql: SqlRunner, contentHashes: string[], model: string): Promise<Array<{ content_hash: string; v: string }>> {
  return sql<{ content_hash: string; v: string }>`
    SELECT DISTINCT ON (content_hash) content_hash, embedding::text AS v FROM chunks
    WHERE content_hash = ANY(${contentHashes}::text[]) AND embedding_model = ${model} AND embedding IS NOT NULL`;
}

/** A document row of `upsertDocumentsWithChunks`; `i` ties its chunks to it. */
export interface DocumentWrite {
  i: number;
  collection_id: string;
  external_id: string;
  url: string | null;
  title: string;
  breadcrumb: string[];
  properties: Record<string, unknown>;
  content_hash: string;
  source_updated_at: string | null;
}

export interface ChunkWrite {
  i: number;
  position: number;
  heading_path: string[];
  anchor: string | null;
  text: string;
  token_count: number;
  content_hash: string;
  embedding_model: string | null;
  /** pgvector text, or null (stored without a vector; the backfill embeds it). */
  embedding: string | null;
}

/**
 * Documents' rows and all their chunks in one transaction. The advisory locks of the documents come
 * first, taken in a fixed order (two syncs of one page must not interleave, two batches must not
 * deadlock); then ONE statement upserts the documents and replaces their changed chunks. Data-modifying
 * CTEs share one snapshot, so the DELETE sees only the old chunks and the INSERT adds the new ones.
 */
export function upsertDocumentsWithChunks(
  sql: SqlRunner,
  sourceId: string,
  docs: DocumentWrite[],
  chunks: ChunkWrite[],
): Promise<Array<{ id: string; external_id: string; created: boolean }>> {
  return sql.transaction(async (tx) => {
    // The locks in a statement of their own: a statement's snapshot is taken when it starts, so a write
    // that waited for a lock inside itself would not see what the sync it waited for committed (and
    // would keep that sync's chunks beside its own).
    await tx`SELECT count(pg_advisory_xact_lock(k)) FROM (SELECT DISTINCT hashtext(key) AS k FROM unnest(${docs.map((d) => `${sourceId}:${d.external_id}`)}::text[]) AS key ORDER BY 1) s`;
    return tx<{ id: string; external_id: string; created: boolean }>`
      WITH d AS (
        SELECT x.* FROM jsonb_to_recordset(${JSON.stringify(docs)}::jsonb) AS x(i int, collection_id uuid, external_id text, url text, title text,
             breadcrumb text[], properties jsonb, content_hash text, source_updated_at timestamptz)),
      doc AS (
        INSERT INTO documents (source_id, collection_id, external_id, url, title, breadcrumb, properties, content_hash, source_updated_at, deleted_at, updated_at)
        SELECT ${sourceId}::uuid, collection_id, external_id, url, title, breadcrumb, properties, content_hash, source_updated_at, NULL, now()
        FROM d ORDER BY i
        ON CONFLICT (source_id, external_id) DO UPDATE SET
          collection_id = EXCLUDED.collection_id, url = EXCLUDED.url, title = EXCLUDED.title, breadcrumb = EXCLUDED.breadcrumb,
          properties = EXCLUDED.properties, content_hash = EXCLUDED.content_hash, source_updated_at = EXCLUDED.source_updated_at,
          deleted_at = NULL, updated_at = now()
        RETURNING id, external_id, collection_id, (xmax = 0) AS created),
      new AS (
        SELECT doc.id AS document_id, doc.collection_id, n.*
        FROM jsonb_to_recordset(${JSON.stringify(chunks)}::jsonb) AS n(i int, position int, heading_path text[], anchor text, text text,
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
      SELECT id::text AS id, external_id, created FROM doc`;
  });
}

/** Soft-deletes documents (the row stays, for undelete) and removes their chunks from the index. */
export function softDeleteDocumentRows(sql: SqlRunner, sourceId: string, externalIds: string[]): Promise<number> {
  return sql.transaction(async (tx) => {
    const ids = await tx<{ id: string }>`
      UPDATE documents SET deleted_at = now(), updated_at = now()
      WHERE source_id = ${sourceId}::uuid AND external_id = ANY(${externalIds}::text[]) AND deleted_at IS NULL
      RETURNING id::text AS id`;
    if (ids.length) await tx`DELETE FROM chunks WHERE document_id = ANY(${ids.map((i) => i.id)}::uuid[])`;
    return ids.length;
  });
}

// ── Notion: rows of a data source or database ─────────────────────────────────────────────────────

/** Live documents of a Notion data source that are not among `stillThere` (rows that left it). */
export async function documentsLeftDataSource(sql: SqlRunner, sourceId: string, dataSourceId: string, stillThere: string[]): Promise<string[]> {
  const rows = await sql<{ external_id: string }>`
    SELECT external_id FROM documents WHERE source_id = ${sourceId}::uuid AND deleted_at IS NULL
      AND properties->>'notionDataSourceId' = ${dataSourceId} AND NOT (external_id = ANY(${stillThere}::text[]))`;
  return rows.map((r) => r.external_id);
}

/** Live documents that came from a Notion data source or database. */
export async function documentsOfNotionParent(sql: SqlRunner, sourceId: string, id: string, kind: "data_source" | "database"): Promise<string[]> {
  const property = kind === "database" ? "notionDatabaseId" : "notionDataSourceId";
  const rows = await sql<{ external_id: string }>`
    SELECT external_id FROM documents WHERE source_id = ${sourceId}::uuid AND deleted_at IS NULL
      AND properties->>${property} = ${id}`;
  return rows.map((r) => r.external_id);
}

// ── Notion webhooks: events, debounced entities, the handshake ─────────────────────────────────────

/** Records an event once (Notion retries deliveries): false for one already recorded. */
export async function insertWebhookEvent(
  sql: SqlRunner,
  e: { id: string; sourceId: string; type: string; entityId: string | null; entityType: string | null; eventAt: Date },
): Promise<boolean> {
  const rows = await sql`
    INSERT INTO notion_webhook_events (id, source_id, type, entity_id, entity_type, event_at)
    VALUES (${e.id}, ${e.sourceId}::uuid, ${e.type}, ${e.entityId}::text, ${e.entityType}::text, ${e.eventAt}::timestamptz)
    ON CONFLICT (id) DO NOTHING RETURNING 1 AS ok`;
  return rows.length > 0;
}

/**
 * Marks an entity for syncing: due after the debounce from the LAST event, but never later than 6
 * debounce windows after the first, so a page edited continuously still becomes searchable.
 */
export async function upsertPendingEntity(
  sql: SqlRunner,
  e: { sourceId: string; entityId: string; entityType: string; eventAt: Date; eventType: string; debounceSeconds: number },
): Promise<Date> {
  const [row] = await sql<{ due_at: Date }>`
    INSERT INTO notion_pending_entities (source_id, entity_id, entity_type, last_event_at, last_event_type, first_received_at, due_at)
    VALUES (${e.sourceId}::uuid, ${e.entityId}, ${e.entityType}, ${e.eventAt}::timestamptz, ${e.eventType}, now(), now() + make_interval(secs => ${e.debounceSeconds}::int))
    ON CONFLICT (source_id, entity_id) DO UPDATE SET
      last_event_type = CASE WHEN EXCLUDED.last_event_at >= notion_pending_entities.last_event_at
                             THEN EXCLUDED.last_event_type ELSE notion_pending_entities.last_event_type END,
      last_event_at = GREATEST(notion_pending_entities.last_event_at, EXCLUDED.last_event_at),
      due_at = LEAST(now() + make_interval(secs => ${e.debounceSeconds}::int),
                     notion_pending_entities.first_received_at + make_interval(secs => ${e.debounceSeconds * 6}::int))
    RETURNING due_at`;
  return new Date(row.due_at);
}

export interface PendingEntity {
  source_id: string;
  entity_id: string;
  entity_type: string;
  last_event_type: string;
  last_event_at: Date;
}

/** Claims up to `limit` due entities by deleting them; SKIP LOCKED lets several workers share the work. */
export function takeDueEntities(sql: SqlRunner, limit: number): Promise<PendingEntity[]> {
  return sql<PendingEntity>`
    DELETE FROM notion_pending_entities WHERE (source_id, entity_id) IN (
      SELECT source_id, entity_id FROM notion_pending_entities WHERE due_at <= now() ORDER BY due_at LIMIT ${limit} FOR UPDATE SKIP LOCKED)
    RETURNING source_id::text AS source_id, entity_id, entity_type, last_event_type, last_event_at`;
}

/** Back in the queue a minute later, unless a newer event already put it back. */
export async function requeueEntityLater(sql: SqlRunner, e: PendingEntity): Promise<void> {
  await sql`
    INSERT INTO notion_pending_entities (source_id, entity_id, entity_type, last_event_at, last_event_type, first_received_at, due_at)
    VALUES (${e.source_id}::uuid, ${e.entity_id}, ${e.entity_type}, ${e.last_event_at}::timestamptz, ${e.last_event_type}, now(), now() + interval '60 seconds')
    ON CONFLICT (source_id, entity_id) DO NOTHING`;
}

/** Milliseconds until the next pending entity is due (negative: overdue), or null when none is left. */
export async function msUntilNextDue(sql: SqlRunner): Promise<number | null> {
  const [next] = await sql<{ ms: number | null }>`
    SELECT (EXTRACT(EPOCH FROM (min(due_at) - now())) * 1000)::float8 AS ms FROM notion_pending_entities`;
  return next?.ms ?? null;
}

/**
 * Stores a handshake's token only while the source awaits one and its secrets are still those read
 * (compare-and-set): false when the handshake is closed or the secrets changed meanwhile.
 */
export async function takeHandshake(sql: SqlRunner, sourceId: string, ciphertext: string, expectedCiphertext: string | null): Promise<boolean> {
  const rows = await sql`
    UPDATE sources SET secret_ciphertext = ${ciphertext}, webhook_handshake_until = NULL, webhook_verified_at = now(), updated_at = now()
    WHERE id = ${sourceId}::uuid AND webhook_handshake_until > now() AND secret_ciphertext = ${expectedCiphertext}::text
    RETURNING 1 AS ok`;
  return rows.length === 1;
}

/** Opens a Notion source's handshake window; null when there is no such Notion source. */
export async function openHandshakeWindow(sql: SqlRunner, sourceId: string, minutes: number): Promise<Date | null> {
  const [row] = await sql<{ until: Date }>`
    UPDATE sources SET webhook_handshake_until = now() + make_interval(mins => ${minutes}::int), updated_at = now()
    WHERE id = ${sourceId}::uuid AND kind = 'notion'
    RETURNING webhook_handshake_until AS until`;
  return row ? new Date(row.until) : null;
}

// ── S3: what an import run actually ingested ───────────────────────────────────────────────────────

/** Objects of an import job that were ingested (with their etag and size), for the source's manifest. */
export function ingestedObjects(sql: SqlRunner, jobId: string, sourceId: string): Promise<Array<{ key: string; etag: string; size: string; collection_id: string }>> {
  return sql<{ key: string; etag: string; size: string; collection_id: string }>`
    SELECT d.external_id AS key, d.properties->>'etag' AS etag, COALESCE((d.properties->>'size')::bigint, 0)::text AS size, d.collection_id::text AS collection_id
    FROM documents d JOIN import_job_items i ON i.external_id = d.external_id AND i.job_id = ${jobId}::uuid AND i.kind = 'page' AND i.status = 'done'
    WHERE d.source_id = ${sourceId}::uuid AND d.deleted_at IS NULL AND d.properties ? 'etag'`;
}

// ── Backfill: missing and stale vectors ────────────────────────────────────────────────────────────

export type BackfillRow = { id: string; text: string; heading_path: string[]; title: string };

/** Copies a vector of this model to chunks without one whose text has it elsewhere; returns how many. */
export async function reuseStoredVectors(sql: SqlRunner, model: string): Promise<number> {
  const [{ n }] = await sql<{ n: number }>`
    WITH copied AS (
      UPDATE chunks c SET embedding = s.embedding, embedding_model = s.embedding_model
      FROM (SELECT DISTINCT ON (content_hash) content_hash, embedding, embedding_model FROM chunks
            WHERE embedding IS NOT NULL AND embedding_model = ${model}) s
      WHERE c.embedding IS NULL AND c.content_hash = s.content_hash
      RETURNING 1)
    SELECT count(*)::int AS n FROM copied`;
  return n;
}

export function chunksWithoutVector(sql: SqlRunner, limit: number): Promise<BackfillRow[]> {
  return sql<BackfillRow>`
    SELECT c.id::text AS id, c.text, c.heading_path, d.title FROM chunks c JOIN documents d ON d.id = c.document_id
    WHERE c.embedding IS NULL ORDER BY c.created_at, c.id LIMIT ${limit}`;
}

export async function fillVectors(sql: SqlRunner, model: string, vectors: Array<{ id: string; v: string }>): Promise<void> {
  await sql`
    UPDATE chunks c SET embedding = x.v::vector, embedding_model = ${model}
    FROM jsonb_to_recordset(${JSON.stringify(vectors)}::jsonb) AS x(id uuid, v text)
    WHERE c.id = x.id AND c.embedding IS NULL`;
}

export async function dropStagedOfOtherModels(sql: SqlRunner, model: string): Promise<void> {
  await sql`DELETE FROM chunk_embeddings_staged WHERE model <> ${model}`;
}

/** Chunks whose vector comes from another model and that have no staged one yet. */
export function chunksToRestage(sql: SqlRunner, model: string, limit: number): Promise<BackfillRow[]> {
  return sql<BackfillRow>`
    SELECT c.id::text AS id, c.text, c.heading_path, d.title FROM chunks c JOIN documents d ON d.id = c.document_id
    WHERE c.embedding IS NOT NULL AND c.embedding_model IS DISTINCT FROM ${model}
      AND NOT EXISTS (SELECT 1 FROM chunk_embeddings_staged s WHERE s.chunk_id = c.id)
    ORDER BY c.id LIMIT ${limit}`;
}

export async function stageVectors(sql: SqlRunner, model: string, vectors: Array<{ id: string; v: string }>): Promise<void> {
  await sql`
    INSERT INTO chunk_embeddings_staged (chunk_id, model, embedding)
    SELECT x.id, ${model}, x.v::vector
    FROM jsonb_to_recordset(${JSON.stringify(vectors)}::jsonb) AS x(id uuid, v text)
    ON CONFLICT (chunk_id) DO NOTHING`;
}

export async function countUnstaged(sql: SqlRunner, model: string): Promise<number> {
  const [{ unstaged }] = await sql<{ unstaged: number }>`
    SELECT count(*)::int AS unstaged FROM chunks c
    WHERE c.embedding IS NOT NULL AND c.embedding_model IS DISTINCT FROM ${model}
      AND NOT EXISTS (SELECT 1 FROM chunk_embeddings_staged s WHERE s.chunk_id = c.id AND s.model = ${model})`;
  return unstaged;
}

/** Swaps every staged vector in, in one transaction (search never mixes two models); returns how many. */
export function swapInStagedVectors(sql: SqlRunner, model: string): Promise<number> {
  return sql.transaction(async (tx) => {
    const [{ n }] = await tx<{ n: number }>`
      WITH swapped AS (
        UPDATE chunks c SET embedding = s.embedding, embedding_model = s.model
        FROM chunk_embeddings_staged s WHERE s.chunk_id = c.id AND s.model = ${model}
          AND c.embedding_model IS DISTINCT FROM ${model}
        RETURNING 1)
      SELECT count(*)::int AS n FROM swapped`;
    await tx`DELETE FROM chunk_embeddings_staged`;
    return n;
  });
}

export async function countWithoutCurrentVector(sql: SqlRunner, model: string): Promise<number> {
  const [{ remaining }] = await sql<{ remaining: number }>`
    SELECT count(*)::int AS remaining FROM chunks WHERE embedding IS NULL OR embedding_model IS DISTINCT FROM ${model}`;
  return remaining;
}

/** The embedding model most stored vectors come from (null: no vectors yet). */
export async function mostUsedEmbeddingModel(sql: SqlRunner): Promise<string | null> {
  const rows = await sql<{ model: string }>`
    SELECT embedding_model AS model FROM chunks WHERE embedding IS NOT NULL GROUP BY 1 ORDER BY count(*) DESC LIMIT 1`;
  return rows[0]?.model ?? null;
}

/** Imports running now and their page counts, summed (for the metrics). */
export function runningImportTotals(sql: SqlRunner): Promise<Array<{ running: string; found: string | null; done: string | null; failed: string | null }>> {
  return sql<{ running: string; found: string | null; done: string | null; failed: string | null }>`
    SELECT count(*) AS running, sum(found) AS found, sum(done) AS done, sum(failed) AS failed
    FROM import_jobs WHERE status = 'running'`;
}

type Sql = Pick<SqlRunner, "query">;

/**
 * The collection's upload source, made when missing. `sources_one_upload_per_collection` (a partial
 * unique index: kind upload, not the demo wiki's) makes the INSERT of a second one a no-op, so two
 * concurrent first uploads end up in the same source.
 */
export async function ensureUploadSourceRow(sql: Sql, collectionId: string): Promise<{ id: string } | null> {
  await sql.query(
    `INSERT INTO sources (collection_id, kind, name, config, updated_at) VALUES ($1::uuid, 'upload', 'Uploads', '{}'::jsonb, now())
     ON CONFLICT (collection_id) WHERE kind = 'upload' AND (config->>'demo') IS DISTINCT FROM 'true' DO NOTHING`,
    [collectionId],
  );
  const [row] = await sql.query<{ id: string }>(
    `SELECT id::text AS id FROM sources WHERE collection_id = $1::uuid AND kind = 'upload' AND (config->>'demo') IS DISTINCT FROM 'true'`,
    [collectionId],
  );
  return row ?? null;
}

// ── the vector (HNSW) index: around a bulk first import, and rebuilt denser (lib/ingest/vector-index.ts) ──

/** The HNSW index of chunks.embedding, as migration 20261122000000_init creates it. */
export const VECTOR_INDEX = "chunks_embedding_hnsw_idx";
/** The name a rebuild gives its new index until it replaces the old one. */
export const VECTOR_INDEX_REBUILD = "chunks_embedding_hnsw_idx_rebuild";
/** DDL takes no parameters: an index name is one of these two constants. */
type VectorIndexName = typeof VECTOR_INDEX | typeof VECTOR_INDEX_REBUILD;
/** Key of the session-level advisory lock a rebuild holds: one rebuild at a time. */
export const VECTOR_INDEX_REBUILD_LOCK = 705_000_019;

/** The HNSW graph's parameters (pgvector's `WITH (m, ef_construction)`). */
export interface VectorIndexOptions {
  m: number;
  efConstruction: number;
}

export interface VectorIndexState {
  exists: boolean;
  /** False while CREATE INDEX CONCURRENTLY runs, and after one failed. */
  valid: boolean;
  /** A CREATE INDEX (CONCURRENTLY) on chunks is running now, in any session. */
  building: boolean;
}

export async function vectorIndexState(sql: SqlRunner, name: VectorIndexName = VECTOR_INDEX): Promise<VectorIndexState> {
  const [row] = await sql<VectorIndexState>`
    SELECT i.indexrelid IS NOT NULL AS exists, coalesce(i.indisvalid, false) AS valid,
      EXISTS (SELECT 1 FROM pg_stat_progress_create_index p
              WHERE p.datname = current_database() AND p.relid = to_regclass('chunks')) AS building
    FROM (SELECT 1) one
    LEFT JOIN pg_index i ON i.indexrelid = to_regclass(${name})`;
  return row!;
}

/**
 * The index's graph parameters as built (pgvector's defaults, 16 and 64, where none were given), its size,
 * and whether it is valid (not while CREATE INDEX CONCURRENTLY runs, nor after one failed).
 */
export async function vectorIndexBuilt(sql: SqlRunner): Promise<(VectorIndexOptions & { bytes: number; valid: boolean }) | null> {
  const [row] = await sql<{ options: string[] | null; bytes: string; valid: boolean }>`
    SELECT c.reloptions AS options, pg_relation_size(c.oid)::text AS bytes, i.indisvalid AS valid
      FROM pg_class c JOIN pg_index i ON i.indexrelid = c.oid
     WHERE c.oid = to_regclass(${VECTOR_INDEX})`;
  if (!row) return null;
  const option = (name: string, def: number) => Number(row.options?.find((o) => o.startsWith(`${name}=`))?.slice(name.length + 1) ?? def);
  return { m: option("m", 16), efConstruction: option("ef_construction", 64), bytes: Number(row.bytes), valid: row.valid };
}

/** Whether the chunks table exists (a database not migrated yet has none). */
export async function chunksTableExists(sql: SqlRunner): Promise<boolean> {
  const [row] = await sql<{ present: boolean }>`SELECT to_regclass('chunks') IS NOT NULL AS present`;
  return row!.present;
}

/** A running CREATE INDEX on chunks: its phase and the table blocks it has read of all. */
export interface IndexBuildProgress {
  phase: string;
  done: number;
  total: number;
}

/** How far a running CREATE INDEX on chunks is (PostgreSQL's own progress view), or null when none runs. */
export async function vectorIndexBuildProgress(sql: SqlRunner): Promise<IndexBuildProgress | null> {
  const [row] = await sql<{ phase: string; done: string; total: string }>`
    SELECT p.phase, p.blocks_done::text AS done, p.blocks_total::text AS total
      FROM pg_stat_progress_create_index p
     WHERE p.datname = current_database() AND p.relid = to_regclass('chunks')
     LIMIT 1`;
  return row ? { phase: row.phase, done: Number(row.done), total: Number(row.total) } : null;
}

/**
 * Chunks in the database, counted up to `cap + 1` (a bounded index scan: the answer is only compared with
 * the cap, and a large table costs no more than a small one).
 */
export async function chunkCountUpTo(sql: SqlRunner, cap: number): Promise<number> {
  const [row] = await sql<{ n: number }>`SELECT count(*)::int AS n FROM (SELECT 1 FROM chunks LIMIT ${cap + 1}) s`;
  return row!.n;
}

/** Drops the HNSW index (or a rebuild's) without blocking readers or writers (not inside a transaction). */
export async function dropVectorIndexConcurrently(sql: SqlRunner, name: VectorIndexName = VECTOR_INDEX): Promise<void> {
  await sql.exec(`DROP INDEX CONCURRENTLY IF EXISTS "${name}"`);
}

/**
 * The statement that builds the HNSW index (or a rebuild's) with a graph's parameters: CONCURRENTLY for
 * the product (readers and writers go on), plain for a bulk load that nothing else reads (bench:retrieval).
 */
export function vectorIndexStatement(o: VectorIndexOptions, opts: { name?: VectorIndexName; concurrently: boolean }): string {
  // The options are spliced into DDL: integers only (settings are validated as such; this keeps it so).
  if (!Number.isInteger(o.m) || !Number.isInteger(o.efConstruction)) throw new Error("HNSW options must be integers");
  return (
    `CREATE INDEX ${opts.concurrently ? "CONCURRENTLY " : ""}IF NOT EXISTS "${opts.name ?? VECTOR_INDEX}" ON "chunks" USING hnsw ("embedding" vector_cosine_ops) ` +
    `WITH (m = ${o.m}, ef_construction = ${o.efConstruction})`
  );
}

/**
 * Builds the HNSW index (or a rebuild's) without blocking readers or writers (not inside a transaction).
 * It uses the server's maintenance_work_mem and max_parallel_maintenance_workers (docs/scale.md).
 */
export async function createVectorIndexConcurrently(sql: SqlRunner, o: VectorIndexOptions, name: VectorIndexName = VECTOR_INDEX): Promise<void> {
  await sql.exec(vectorIndexStatement(o, { name, concurrently: true }));
}

/** Gives a finished rebuild the index's own name (the old one dropped first: searches use the new one meanwhile). */
export async function renameRebuiltVectorIndex(sql: SqlRunner): Promise<void> {
  await sql.exec(`ALTER INDEX "${VECTOR_INDEX_REBUILD}" RENAME TO "${VECTOR_INDEX}"`);
}
