-- Project SOT: first data model (collections, sources, documents, chunks, users, keys, logs, scores).
CREATE EXTENSION IF NOT EXISTS vector;

-- array_to_string is only STABLE; generated columns need IMMUTABLE (it is, for text[]).
CREATE FUNCTION sot_join_words(text[]) RETURNS text
  LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT array_to_string($1, ' ') $$;

CREATE TABLE "collections" (
  "id" UUID NOT NULL DEFAULT gen_random_uuid(),
  "slug" TEXT NOT NULL,
  "name" TEXT NOT NULL,
  "description" TEXT NOT NULL DEFAULT '',
  "restricted" BOOLEAN NOT NULL DEFAULT false,
  "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
  "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
  CONSTRAINT "collections_pkey" PRIMARY KEY ("id")
);
CREATE UNIQUE INDEX "collections_slug_key" ON "collections"("slug");

CREATE TABLE "users" (
  "id" UUID NOT NULL DEFAULT gen_random_uuid(),
  "email" TEXT NOT NULL,
  "name" TEXT NOT NULL DEFAULT '',
  "password_hash" TEXT,
  "role" TEXT NOT NULL DEFAULT 'viewer',
  "disabled_at" TIMESTAMPTZ(3),
  "last_login_at" TIMESTAMPTZ(3),
  "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
  "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
  CONSTRAINT "users_pkey" PRIMARY KEY ("id"),
  CONSTRAINT "users_role_check" CHECK ("role" IN ('viewer', 'evaluator', 'admin'))
);
CREATE UNIQUE INDEX "users_email_key" ON "users"("email");

CREATE TABLE "collection_members" (
  "collection_id" UUID NOT NULL REFERENCES "collections"("id") ON DELETE CASCADE,
  "user_id" UUID NOT NULL REFERENCES "users"("id") ON DELETE CASCADE,
  "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
  CONSTRAINT "collection_members_pkey" PRIMARY KEY ("collection_id", "user_id")
);

CREATE TABLE "sources" (
  "id" UUID NOT NULL DEFAULT gen_random_uuid(),
  "collection_id" UUID NOT NULL REFERENCES "collections"("id") ON DELETE CASCADE,
  "kind" TEXT NOT NULL,
  "name" TEXT NOT NULL,
  "config" JSONB NOT NULL DEFAULT '{}',
  "secret_ciphertext" TEXT,
  "status" TEXT NOT NULL DEFAULT 'idle',
  "last_sync_at" TIMESTAMPTZ(3),
  "last_error" TEXT,
  "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
  "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
  CONSTRAINT "sources_pkey" PRIMARY KEY ("id"),
  CONSTRAINT "sources_kind_check" CHECK ("kind" IN ('notion', 'upload', 's3'))
);
CREATE INDEX "sources_collection_id_idx" ON "sources"("collection_id");

CREATE TABLE "documents" (
  "id" UUID NOT NULL DEFAULT gen_random_uuid(),
  "collection_id" UUID NOT NULL REFERENCES "collections"("id") ON DELETE CASCADE,
  "source_id" UUID NOT NULL REFERENCES "sources"("id") ON DELETE CASCADE,
  "external_id" TEXT NOT NULL,
  "url" TEXT,
  "title" TEXT NOT NULL,
  "breadcrumb" TEXT[] NOT NULL DEFAULT ARRAY[]::TEXT[],
  "properties" JSONB NOT NULL DEFAULT '{}',
  "content_hash" TEXT NOT NULL,
  "source_updated_at" TIMESTAMPTZ(3),
  "deleted_at" TIMESTAMPTZ(3),
  "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
  "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
  CONSTRAINT "documents_pkey" PRIMARY KEY ("id")
);
CREATE UNIQUE INDEX "documents_source_id_external_id_key" ON "documents"("source_id", "external_id");
CREATE INDEX "documents_collection_id_idx" ON "documents"("collection_id");

CREATE TABLE "chunks" (
  "id" UUID NOT NULL DEFAULT gen_random_uuid(),
  "document_id" UUID NOT NULL REFERENCES "documents"("id") ON DELETE CASCADE,
  "collection_id" UUID NOT NULL REFERENCES "collections"("id") ON DELETE CASCADE,
  "position" INTEGER NOT NULL,
  "heading_path" TEXT[] NOT NULL DEFAULT ARRAY[]::TEXT[],
  "anchor" TEXT,
  "text" TEXT NOT NULL,
  "token_count" INTEGER NOT NULL,
  "content_hash" TEXT NOT NULL,
  "embedding_model" TEXT,
  "embedding" vector(768),
  -- The heading path weighs more than the body; 'english' stems so "deploys" finds "deployment".
  "tsv" tsvector GENERATED ALWAYS AS (
    setweight(to_tsvector('english', sot_join_words("heading_path")), 'A') ||
    setweight(to_tsvector('english', "text"), 'B')
  ) STORED,
  "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
  CONSTRAINT "chunks_pkey" PRIMARY KEY ("id")
);
CREATE INDEX "chunks_document_id_position_idx" ON "chunks"("document_id", "position");
CREATE INDEX "chunks_content_hash_idx" ON "chunks"("content_hash");
CREATE INDEX "chunks_collection_id_idx" ON "chunks"("collection_id");
CREATE INDEX "chunks_embedding_hnsw_idx" ON "chunks" USING hnsw ("embedding" vector_cosine_ops);
CREATE INDEX "chunks_tsv_gin_idx" ON "chunks" USING gin ("tsv");

CREATE TABLE "api_keys" (
  "id" UUID NOT NULL DEFAULT gen_random_uuid(),
  "name" TEXT NOT NULL,
  "prefix" TEXT NOT NULL,
  "key_hash" TEXT NOT NULL,
  "scopes" TEXT[] NOT NULL,
  "collection_ids" UUID[] NOT NULL DEFAULT ARRAY[]::UUID[],
  "expires_at" TIMESTAMPTZ(3),
  "revoked_at" TIMESTAMPTZ(3),
  "last_used_at" TIMESTAMPTZ(3),
  "created_by_id" UUID REFERENCES "users"("id") ON DELETE SET NULL,
  "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
  CONSTRAINT "api_keys_pkey" PRIMARY KEY ("id")
);
CREATE UNIQUE INDEX "api_keys_key_hash_key" ON "api_keys"("key_hash");

CREATE TABLE "query_logs" (
  "id" UUID NOT NULL DEFAULT gen_random_uuid(),
  "user_id" UUID REFERENCES "users"("id") ON DELETE SET NULL,
  "api_key_id" UUID REFERENCES "api_keys"("id") ON DELETE SET NULL,
  "question" TEXT,
  "question_sha256" TEXT NOT NULL,
  "collection_ids" UUID[] NOT NULL DEFAULT ARRAY[]::UUID[],
  "retrieved" JSONB NOT NULL DEFAULT '[]',
  "timings" JSONB NOT NULL DEFAULT '{}',
  "prompt_tokens" INTEGER,
  "completion_tokens" INTEGER,
  "model" TEXT,
  "answer" TEXT,
  "citations" JSONB NOT NULL DEFAULT '[]',
  "invalid_citations" INTEGER NOT NULL DEFAULT 0,
  "status" TEXT NOT NULL DEFAULT 'ok',
  "rerank_status" TEXT NOT NULL DEFAULT 'disabled',
  "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
  CONSTRAINT "query_logs_pkey" PRIMARY KEY ("id")
);
CREATE INDEX "query_logs_created_at_idx" ON "query_logs"("created_at");

CREATE TABLE "scores" (
  "id" UUID NOT NULL DEFAULT gen_random_uuid(),
  "kind" TEXT NOT NULL,
  "status" TEXT NOT NULL DEFAULT 'ok',
  "query_log_id" UUID REFERENCES "query_logs"("id") ON DELETE CASCADE,
  "user_id" UUID REFERENCES "users"("id") ON DELETE SET NULL,
  "hallucination_score" DOUBLE PRECISION,
  "faithfulness" DOUBLE PRECISION,
  "answer_relevance" DOUBLE PRECISION,
  "context_recall" DOUBLE PRECISION,
  "claims" JSONB NOT NULL DEFAULT '[]',
  "comment" TEXT,
  "judge_model" TEXT,
  "prompt_version" TEXT,
  "error" TEXT,
  "raw_output" TEXT,
  "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
  CONSTRAINT "scores_pkey" PRIMARY KEY ("id"),
  CONSTRAINT "scores_kind_check" CHECK ("kind" IN ('judge', 'human')),
  -- Never a made-up score: an ok score has a value, an error has none.
  CONSTRAINT "scores_status_check" CHECK (
    ("status" = 'ok' AND "hallucination_score" IS NOT NULL) OR
    ("status" = 'error' AND "hallucination_score" IS NULL))
);
CREATE INDEX "scores_query_log_id_idx" ON "scores"("query_log_id");
