// Vectors that are missing or come from another embedding model.
//
// - Missing: chunks stored while Ollama was unreachable (first start of the demo wiki without Ollama,
//   an outage during an import). They are searchable by full text meanwhile; this fills their vectors.
// - Stale: chunks embedded with a previous OLLAMA_EMBED_MODEL. New vectors are staged in
//   chunk_embeddings_staged while the old ones keep serving, then swapped in by one transaction once
//   every stale chunk has one, so search never mixes half the index in one model and half in another.
import { getConfig } from "../config";
import type { Db } from "../db/client";
import { getLlm, type Llm } from "../llm";
import { prefixFor } from "./chunker";
import { embedWithRetry, toVectorLiteral } from "./pipeline";

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

type Row = { id: string; text: string; heading_path: string[]; title: string };

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
  out.reused = await db.prisma.$executeRaw`
    UPDATE chunks c SET embedding = s.embedding, embedding_model = s.embedding_model
    FROM (SELECT DISTINCT ON (content_hash) content_hash, embedding, embedding_model FROM chunks
          WHERE embedding IS NOT NULL AND embedding_model = ${model}) s
    WHERE c.embedding IS NULL AND c.content_hash = s.content_hash`;

  // 2. Missing vectors: embed and write in place (they serve nothing yet, so no staging needed).
  while (out.embedded < limit && !out.error) {
    const rows = await db.prisma.$queryRaw<Row[]>`
      SELECT c.id::text AS id, c.text, c.heading_path, d.title FROM chunks c JOIN documents d ON d.id = c.document_id
      WHERE c.embedding IS NULL ORDER BY c.created_at, c.id LIMIT ${batchSize}`;
    if (rows.length === 0) break;
    const vectors = await embedRows(llm, rows, out);
    if (!vectors) break;
    await db.prisma.$executeRaw`
      UPDATE chunks c SET embedding = x.v::vector, embedding_model = ${model}
      FROM jsonb_to_recordset(${JSON.stringify(rows.map((r, i) => ({ id: r.id, v: vectors[i] })))}::jsonb) AS x(id uuid, v text)
      WHERE c.id = x.id AND c.embedding IS NULL`;
    out.embedded += rows.length;
  }

  // 3. Stale vectors: stage new ones beside the old.
  if (!out.error) {
    await db.prisma.$executeRaw`DELETE FROM chunk_embeddings_staged WHERE model <> ${model}`;
    while (out.staged < limit && !out.error) {
      const rows = await db.prisma.$queryRaw<Row[]>`
        SELECT c.id::text AS id, c.text, c.heading_path, d.title FROM chunks c JOIN documents d ON d.id = c.document_id
        WHERE c.embedding IS NOT NULL AND c.embedding_model IS DISTINCT FROM ${model}
          AND NOT EXISTS (SELECT 1 FROM chunk_embeddings_staged s WHERE s.chunk_id = c.id)
        ORDER BY c.id LIMIT ${batchSize}`;
      if (rows.length === 0) break;
      const vectors = await embedRows(llm, rows, out);
      if (!vectors) break;
      await db.prisma.$executeRaw`
        INSERT INTO chunk_embeddings_staged (chunk_id, model, embedding)
        SELECT x.id, ${model}, x.v::vector
        FROM jsonb_to_recordset(${JSON.stringify(rows.map((r, i) => ({ id: r.id, v: vectors[i] })))}::jsonb) AS x(id uuid, v text)
        ON CONFLICT (chunk_id) DO NOTHING`;
      out.staged += rows.length;
    }
  }

  // 4. Swap when every stale chunk has its staged vector.
  const [{ unstaged }] = await db.prisma.$queryRaw<Array<{ unstaged: number }>>`
    SELECT count(*)::int AS unstaged FROM chunks c
    WHERE c.embedding IS NOT NULL AND c.embedding_model IS DISTINCT FROM ${model}
      AND NOT EXISTS (SELECT 1 FROM chunk_embeddings_staged s WHERE s.chunk_id = c.id AND s.model = ${model})`;
  if (unstaged === 0) {
    out.swapped = await db.prisma.$transaction(async (tx) => {
      const n = await tx.$executeRaw`
        UPDATE chunks c SET embedding = s.embedding, embedding_model = s.model
        FROM chunk_embeddings_staged s WHERE s.chunk_id = c.id AND s.model = ${model}
          AND c.embedding_model IS DISTINCT FROM ${model}`;
      await tx.$executeRaw`DELETE FROM chunk_embeddings_staged`;
      return n;
    });
  }

  const [{ remaining }] = await db.prisma.$queryRaw<Array<{ remaining: number }>>`
    SELECT count(*)::int AS remaining FROM chunks WHERE embedding IS NULL OR embedding_model IS DISTINCT FROM ${model}`;
  out.remaining = remaining;
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
  const rows = await db.sql.query<{ model: string }>(
    `SELECT embedding_model AS model FROM chunks WHERE embedding IS NOT NULL GROUP BY 1 ORDER BY count(*) DESC LIMIT 1`,
  );
  return rows[0]?.model ?? null;
}
