-- Uploads are idempotent: a collection has ONE upload source (besides the demo wiki's), and an uploaded
-- file is a document of it keyed by its name. Databases that already hold several upload sources per
-- collection (each upload request used to be able to make its own) are merged into the oldest: a file
-- present in several keeps its most recently updated copy, the other copies go with their chunks, and
-- the emptied sources go.
CREATE TEMPORARY TABLE upload_source_merge ON COMMIT DROP AS
  SELECT id, first_value(id) OVER (PARTITION BY collection_id ORDER BY created_at, id) AS keep
  FROM sources WHERE kind = 'upload' AND (config->>'demo') IS DISTINCT FROM 'true';

DELETE FROM documents d USING (
  SELECT d.id, row_number() OVER (PARTITION BY m.keep, d.external_id ORDER BY (d.deleted_at IS NULL) DESC, d.updated_at DESC, d.id) AS n
  FROM documents d JOIN upload_source_merge m ON m.id = d.source_id
) c WHERE d.id = c.id AND c.n > 1;

UPDATE documents d SET source_id = m.keep FROM upload_source_merge m WHERE d.source_id = m.id AND m.id <> m.keep;

DELETE FROM sources s USING upload_source_merge m WHERE s.id = m.id AND m.id <> m.keep;

CREATE UNIQUE INDEX sources_one_upload_per_collection ON sources (collection_id)
  WHERE kind = 'upload' AND (config->>'demo') IS DISTINCT FROM 'true';
