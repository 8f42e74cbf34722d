-- Evaluations: versioned datasets, evaluation runs and their items, external outputs posted for scoring,
-- annotation-queue skips, and the links from scores to what they score.

CREATE TABLE "datasets" (
  "id" UUID NOT NULL DEFAULT gen_random_uuid(),
  "name" TEXT NOT NULL,
  "description" TEXT NOT NULL DEFAULT '',
  "current_version" INTEGER NOT NULL DEFAULT 1,
  "created_by_id" UUID REFERENCES "users"("id") ON DELETE SET NULL,
  "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
  "updated_at" TIMESTAMPTZ(3) NOT NULL,
  CONSTRAINT "datasets_pkey" PRIMARY KEY ("id")
);
CREATE UNIQUE INDEX "datasets_name_key" ON "datasets"("name");

-- Every change to a dataset's items writes a new, immutable version; runs point at the version they used.
CREATE TABLE "dataset_versions" (
  "id" UUID NOT NULL DEFAULT gen_random_uuid(),
  "dataset_id" UUID NOT NULL REFERENCES "datasets"("id") ON DELETE CASCADE,
  "version" INTEGER NOT NULL,
  "note" TEXT NOT NULL DEFAULT '',
  "item_count" INTEGER NOT NULL DEFAULT 0,
  "created_by_id" UUID REFERENCES "users"("id") ON DELETE SET NULL,
  "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
  CONSTRAINT "dataset_versions_pkey" PRIMARY KEY ("id")
);
CREATE UNIQUE INDEX "dataset_versions_dataset_id_version_key" ON "dataset_versions"("dataset_id", "version");

CREATE TABLE "dataset_items" (
  "id" UUID NOT NULL DEFAULT gen_random_uuid(),
  "dataset_version_id" UUID NOT NULL REFERENCES "dataset_versions"("id") ON DELETE CASCADE,
  "position" INTEGER NOT NULL,
  "question" TEXT NOT NULL,
  "reference_answer" TEXT,
  -- Document ids, external ids, URLs or titles; a run counts a retrieval hit when any of them is retrieved.
  "expected_sources" TEXT[] NOT NULL DEFAULT ARRAY[]::TEXT[],
  "source_query_log_id" UUID REFERENCES "query_logs"("id") ON DELETE SET NULL,
  CONSTRAINT "dataset_items_pkey" PRIMARY KEY ("id")
);
CREATE UNIQUE INDEX "dataset_items_dataset_version_id_position_key" ON "dataset_items"("dataset_version_id", "position");

CREATE TABLE "evaluation_runs" (
  "id" UUID NOT NULL DEFAULT gen_random_uuid(),
  "dataset_id" UUID NOT NULL REFERENCES "datasets"("id") ON DELETE CASCADE,
  "dataset_version_id" UUID NOT NULL REFERENCES "dataset_versions"("id") ON DELETE CASCADE,
  "status" TEXT NOT NULL DEFAULT 'queued',
  "trigger" TEXT NOT NULL,
  "schedule_run_id" TEXT,
  "baseline_run_id" UUID REFERENCES "evaluation_runs"("id") ON DELETE SET NULL,
  "judge_model" TEXT NOT NULL,
  "prompt_version" TEXT NOT NULL,
  "concurrency" INTEGER NOT NULL,
  "top_k" INTEGER NOT NULL,
  "item_count" INTEGER NOT NULL DEFAULT 0,
  "done_count" INTEGER NOT NULL DEFAULT 0,
  "error_count" INTEGER NOT NULL DEFAULT 0,
  "avg_hallucination" DOUBLE PRECISION,
  "avg_faithfulness" DOUBLE PRECISION,
  "avg_answer_relevance" DOUBLE PRECISION,
  "avg_context_recall" DOUBLE PRECISION,
  "retrieval_hit_rate" DOUBLE PRECISION,
  "alert_status" TEXT,
  "alert_error" TEXT,
  "error" TEXT,
  "created_by_id" UUID REFERENCES "users"("id") ON DELETE SET NULL,
  "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
  "started_at" TIMESTAMPTZ(3),
  "finished_at" TIMESTAMPTZ(3),
  CONSTRAINT "evaluation_runs_pkey" PRIMARY KEY ("id"),
  CONSTRAINT "evaluation_runs_status_check" CHECK ("status" IN ('queued', 'running', 'completed', 'failed')),
  CONSTRAINT "evaluation_runs_trigger_check" CHECK ("trigger" IN ('manual', 'api', 'schedule'))
);
CREATE INDEX "evaluation_runs_dataset_id_created_at_idx" ON "evaluation_runs"("dataset_id", "created_at");

CREATE TABLE "run_items" (
  "id" UUID NOT NULL DEFAULT gen_random_uuid(),
  "run_id" UUID NOT NULL REFERENCES "evaluation_runs"("id") ON DELETE CASCADE,
  "dataset_item_id" UUID REFERENCES "dataset_items"("id") ON DELETE SET NULL,
  "position" INTEGER NOT NULL,
  "question" TEXT NOT NULL,
  "reference_answer" TEXT,
  "expected_sources" TEXT[] NOT NULL DEFAULT ARRAY[]::TEXT[],
  "status" TEXT NOT NULL DEFAULT 'pending',
  "answer" TEXT,
  -- [{n, documentId, chunkId, title, url, text}] the passages the answer was built from
  "sources" JSONB NOT NULL DEFAULT '[]',
  "retrieval_hit" BOOLEAN,
  "latency_ms" INTEGER,
  "prompt_tokens" INTEGER,
  "completion_tokens" INTEGER,
  "error" TEXT,
  "query_log_id" UUID REFERENCES "query_logs"("id") ON DELETE SET NULL,
  "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
  "finished_at" TIMESTAMPTZ(3),
  CONSTRAINT "run_items_pkey" PRIMARY KEY ("id"),
  CONSTRAINT "run_items_status_check" CHECK ("status" IN ('pending', 'ok', 'error'))
);
CREATE UNIQUE INDEX "run_items_run_id_position_key" ON "run_items"("run_id", "position");

-- An answer produced elsewhere and posted to /api/evaluate/score for judging.
CREATE TABLE "external_outputs" (
  "id" UUID NOT NULL DEFAULT gen_random_uuid(),
  "question" TEXT NOT NULL,
  "output" TEXT NOT NULL,
  "passages" JSONB NOT NULL DEFAULT '[]',
  "reference_answer" TEXT,
  "user_id" UUID REFERENCES "users"("id") ON DELETE SET NULL,
  "api_key_id" UUID REFERENCES "api_keys"("id") ON DELETE SET NULL,
  "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
  CONSTRAINT "external_outputs_pkey" PRIMARY KEY ("id")
);
CREATE INDEX "external_outputs_created_at_idx" ON "external_outputs"("created_at");

-- An evaluator skipped an item in the annotation queue; it no longer comes up for them.
CREATE TABLE "annotation_skips" (
  "user_id" UUID NOT NULL REFERENCES "users"("id") ON DELETE CASCADE,
  "target_kind" TEXT NOT NULL,
  "target_id" UUID NOT NULL,
  "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
  CONSTRAINT "annotation_skips_pkey" PRIMARY KEY ("user_id", "target_kind", "target_id")
);

ALTER TABLE "scores" ADD COLUMN "run_item_id" UUID REFERENCES "run_items"("id") ON DELETE CASCADE;
ALTER TABLE "scores" ADD COLUMN "external_output_id" UUID REFERENCES "external_outputs"("id") ON DELETE CASCADE;
CREATE INDEX "scores_run_item_id_idx" ON "scores"("run_item_id");
CREATE INDEX "scores_external_output_id_idx" ON "scores"("external_output_id");
