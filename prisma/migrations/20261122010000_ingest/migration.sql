-- Ingestion: import jobs with per-item progress (resumable), the Notion webhook inbox (dedupe by
-- event id) and debounce queue, the S3 manifest of ETags, and staged vectors for re-embedding with a
-- new model while the old vectors keep serving.

CREATE TABLE "import_jobs" (
  "id" UUID NOT NULL DEFAULT gen_random_uuid(),
  "source_id" UUID NOT NULL REFERENCES "sources"("id") ON DELETE CASCADE,
  -- "full" (whole source, removes what is gone) | "pages" (given ids) | "reconcile" | "upload" | "s3_sync"
  "kind" TEXT NOT NULL,
  -- "queued" | "running" | "succeeded" | "failed"
  "status" TEXT NOT NULL DEFAULT 'queued',
  -- "manual" | "schedule" | "webhook" | "seed"
  "trigger" TEXT NOT NULL DEFAULT 'manual',
  "options" JSONB NOT NULL DEFAULT '{}',
  -- "discover" → "fetch" → "finalize": a resumed job continues where it stopped.
  "phase" TEXT NOT NULL DEFAULT 'discover',
  "found" INTEGER NOT NULL DEFAULT 0,
  "done" INTEGER NOT NULL DEFAULT 0,
  "failed" INTEGER NOT NULL DEFAULT 0,
  "unchanged" INTEGER NOT NULL DEFAULT 0,
  "removed" INTEGER NOT NULL DEFAULT 0,
  "embedded_chunks" INTEGER NOT NULL DEFAULT 0,
  "error" TEXT,
  "started_at" TIMESTAMPTZ(3),
  "finished_at" TIMESTAMPTZ(3),
  "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
  "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
  CONSTRAINT "import_jobs_pkey" PRIMARY KEY ("id"),
  CONSTRAINT "import_jobs_status_check" CHECK ("status" IN ('queued', 'running', 'succeeded', 'failed'))
);
CREATE INDEX "import_jobs_source_id_created_at_idx" ON "import_jobs"("source_id", "created_at");

CREATE TABLE "import_job_items" (
  "job_id" UUID NOT NULL REFERENCES "import_jobs"("id") ON DELETE CASCADE,
  "external_id" TEXT NOT NULL,
  -- "page" | "container" (a page or data source whose children are still to be listed)
  "kind" TEXT NOT NULL DEFAULT 'page',
  -- "pending" | "done" | "unchanged" | "failed"
  "status" TEXT NOT NULL DEFAULT 'pending',
  "title" TEXT,
  "breadcrumb" TEXT[] NOT NULL DEFAULT ARRAY[]::TEXT[],
  "error" TEXT,
  "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
  CONSTRAINT "import_job_items_pkey" PRIMARY KEY ("job_id", "external_id", "kind")
);
CREATE INDEX "import_job_items_job_id_status_idx" ON "import_job_items"("job_id", "status");

CREATE TABLE "notion_webhook_events" (
  -- Notion's event id: a redelivered event is recognised and ignored.
  "id" TEXT NOT NULL,
  "source_id" UUID NOT NULL REFERENCES "sources"("id") ON DELETE CASCADE,
  "type" TEXT NOT NULL,
  "entity_id" TEXT,
  "entity_type" TEXT,
  "event_at" TIMESTAMPTZ(3) NOT NULL,
  "received_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
  CONSTRAINT "notion_webhook_events_pkey" PRIMARY KEY ("id")
);
CREATE INDEX "notion_webhook_events_received_at_idx" ON "notion_webhook_events"("received_at");

-- One row per entity with changes waiting: bursts of events for one page collapse into one fetch.
CREATE TABLE "notion_pending_entities" (
  "source_id" UUID NOT NULL REFERENCES "sources"("id") ON DELETE CASCADE,
  "entity_id" TEXT NOT NULL,
  -- "page" | "data_source" | "database"
  "entity_type" TEXT NOT NULL,
  -- Newest event timestamp seen: an older event delivered late never overrides a newer one.
  "last_event_at" TIMESTAMPTZ(3) NOT NULL,
  "last_event_type" TEXT NOT NULL,
  "first_received_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
  "due_at" TIMESTAMPTZ(3) NOT NULL,
  CONSTRAINT "notion_pending_entities_pkey" PRIMARY KEY ("source_id", "entity_id")
);
CREATE INDEX "notion_pending_entities_due_at_idx" ON "notion_pending_entities"("due_at");

CREATE TABLE "s3_objects" (
  "source_id" UUID NOT NULL REFERENCES "sources"("id") ON DELETE CASCADE,
  "key" TEXT NOT NULL,
  "etag" TEXT NOT NULL,
  "size" BIGINT NOT NULL,
  "collection_id" UUID NOT NULL,
  "synced_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
  CONSTRAINT "s3_objects_pkey" PRIMARY KEY ("source_id", "key")
);

-- Vectors computed with a new embedding model, swapped into chunks once every chunk has one.
CREATE TABLE "chunk_embeddings_staged" (
  "chunk_id" UUID NOT NULL REFERENCES "chunks"("id") ON DELETE CASCADE,
  "model" TEXT NOT NULL,
  "embedding" vector(768) NOT NULL,
  "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
  CONSTRAINT "chunk_embeddings_staged_pkey" PRIMARY KEY ("chunk_id")
);
