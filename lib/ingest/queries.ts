// SQL of lib/ingest through db.sql (parameters as $n, never interpolated).
import type { SqlRunner } from "../db/sql-runner";

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
