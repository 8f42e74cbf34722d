-- Moving in from Supabase: the rows of an old chunk table, read from a dump, a CSV or a live database,
-- wait here (text and the fields that group them into pages; never the old vectors) while the import
-- job turns each old page into one document. They belong to the job and go with it.
CREATE TABLE supabase_import_rows (
  job_id uuid NOT NULL REFERENCES import_jobs(id) ON DELETE CASCADE,
  seq integer NOT NULL,
  doc_key text NOT NULL,
  position double precision,
  old_id text,
  title text,
  url text,
  page_id text,
  heading text,
  source_updated_at timestamptz(3),
  content text NOT NULL,
  PRIMARY KEY (job_id, seq)
);
CREATE INDEX supabase_import_rows_doc ON supabase_import_rows (job_id, doc_key);

-- A source kind for it, and a run trigger for the old system's scores brought in as a baseline run.
ALTER TABLE sources DROP CONSTRAINT sources_kind_check;
ALTER TABLE sources ADD CONSTRAINT sources_kind_check CHECK (kind IN ('notion', 'upload', 's3', 'supabase'));
ALTER TABLE evaluation_runs DROP CONSTRAINT evaluation_runs_trigger_check;
ALTER TABLE evaluation_runs ADD CONSTRAINT evaluation_runs_trigger_check CHECK (trigger IN ('manual', 'api', 'schedule', 'import'));
