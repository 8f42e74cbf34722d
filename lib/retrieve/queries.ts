// The retrieval settings' SQL (the search statement itself is built in search.ts).
import type { Db } from "../db/client";

export interface CollectionFusionRow {
  id: string;
  vectorWeight: number;
  textWeight: number;
  candidates: number | null;
}

/** Every collection's fusion weights and candidates (a handful of rows: read whole and cached). */
export async function collectionFusionRows(db: Db): Promise<CollectionFusionRow[]> {
  return db.sql.query<CollectionFusionRow>(
    `SELECT id::text AS id, fusion_vector_weight AS "vectorWeight", fusion_text_weight AS "textWeight", retrieve_candidates AS candidates FROM collections`,
  );
}

/** Saves a collection's fusion settings and what the tuning that chose them measured; false: no such collection. */
export async function saveCollectionFusion(
  db: Db,
  collectionId: string,
  s: { vectorWeight: number; textWeight: number; candidates: number | null; tuning: unknown },
): Promise<boolean> {
  const rows = await db.sql.query(
    `UPDATE collections SET fusion_vector_weight = $2, fusion_text_weight = $3, retrieve_candidates = $4, fusion_tuning = $5::jsonb, updated_at = now()
      WHERE id = $1 RETURNING id`,
    [collectionId, s.vectorWeight, s.textWeight, s.candidates, s.tuning === null ? null : JSON.stringify(s.tuning)],
  );
  return rows.length === 1;
}

/** Documents of the collections whose id, external id, URL or title is one of `keys` (lower-cased). */
export async function documentsMatching(
  db: Db,
  collectionIds: readonly string[],
  keys: readonly string[],
): Promise<Array<{ id: string; externalId: string; url: string | null; title: string }>> {
  if (keys.length === 0 || collectionIds.length === 0) return [];
  return db.sql.query(
    `SELECT id::text AS id, external_id AS "externalId", url, title FROM documents
      WHERE collection_id = ANY($1::uuid[]) AND deleted_at IS NULL
        AND (id::text = ANY($2::text[]) OR lower(external_id) = ANY($2::text[]) OR lower(url) = ANY($2::text[]) OR lower(title) = ANY($2::text[]))`,
    [collectionIds, keys],
  );
}
