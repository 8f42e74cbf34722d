-- Ask the wiki: a BM25 inverted index kept beside chunks.tsv, conversations, and answer feedback.
--
-- Why a postings table: PostgreSQL's own ranking (ts_rank/ts_rank_cd) has no inverse document
-- frequency and websearch_to_tsquery requires every word, which puts plain full-text search far below
-- BM25. BM25 needs, per query lexeme, its document frequency and, per (lexeme, chunk), the term
-- frequency and the chunk's length. chunk_terms holds exactly that, one row per distinct lexeme of a
-- chunk, derived from the generated tsvector by triggers, so lexemes, stemming and stop words are the
-- same as the GIN index's ('english' config). Writers only ever INSERT/DELETE their own chunk's rows:
-- there is no shared counter row, so concurrent ingest transactions never wait on each other.
-- Document frequencies are counted at query time from the covering primary key (index-only scan);
-- the corpus size and average length come from chunk_lengths.

-- Term frequency of one lexeme from its tsvector weights: a heading occurrence (weight A) counts
-- twice, like a BM25F field boost, so a page section titled with the term ranks above a passing mention.
CREATE FUNCTION sot_bm25_tf(weights text[]) RETURNS real
  LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT coalesce(sum(CASE WHEN w = 'A' THEN 2 ELSE 1 END), 0)::real FROM unnest(weights) AS w
$$;

CREATE TABLE "chunk_terms" (
  "lexeme" TEXT NOT NULL,
  "chunk_id" UUID NOT NULL,
  "collection_id" UUID NOT NULL,
  "tf" REAL NOT NULL,
  -- The chunk's length (sum of tf over its lexemes), repeated here so scoring needs no join.
  "dl" REAL NOT NULL,
  -- INCLUDE makes the primary key a covering index: scoring reads postings by index-only scans.
  CONSTRAINT "chunk_terms_pkey" PRIMARY KEY ("lexeme", "chunk_id") INCLUDE ("collection_id", "tf", "dl")
);

CREATE TABLE "chunk_lengths" (
  "chunk_id" UUID NOT NULL,
  "collection_id" UUID NOT NULL,
  "dl" REAL NOT NULL,
  CONSTRAINT "chunk_lengths_pkey" PRIMARY KEY ("chunk_id")
);

-- (Re)builds the postings and length of the given chunks from their tsvector.
CREATE FUNCTION sot_bm25_index(ids uuid[]) RETURNS void LANGUAGE sql AS $$
  WITH t AS (
    SELECT c.id, c.collection_id, u.lexeme, sot_bm25_tf(u.weights::text[]) AS tf
    FROM chunks c, unnest(c.tsv) AS u
    WHERE c.id = ANY(ids) AND c.tsv IS NOT NULL
  ), l AS (
    SELECT id, collection_id, sum(tf)::real AS dl FROM t GROUP BY id, collection_id
  ), ins AS (
    INSERT INTO chunk_lengths (chunk_id, collection_id, dl) SELECT id, collection_id, dl FROM l
    ON CONFLICT (chunk_id) DO UPDATE SET collection_id = EXCLUDED.collection_id, dl = EXCLUDED.dl
  )
  INSERT INTO chunk_terms (lexeme, chunk_id, collection_id, tf, dl)
  SELECT t.lexeme, t.id, t.collection_id, t.tf, l.dl FROM t JOIN l USING (id)
  ON CONFLICT (lexeme, chunk_id) DO UPDATE SET collection_id = EXCLUDED.collection_id, tf = EXCLUDED.tf, dl = EXCLUDED.dl
$$;

CREATE FUNCTION sot_bm25_add() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  -- Statement-level with a transition table: a multi-row insert costs one pass, not one per row.
  PERFORM sot_bm25_index(ARRAY(SELECT id FROM sot_bm25_new WHERE tsv IS NOT NULL));
  RETURN NULL;
END $$;

CREATE FUNCTION sot_bm25_remove() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  -- Deletes through the primary key (lexeme, chunk_id): no second index on chunk_id is needed.
  DELETE FROM chunk_terms ct
  USING (SELECT o.id, u.lexeme FROM sot_bm25_old o, unnest(tsvector_to_array(o.tsv)) AS u(lexeme) WHERE o.tsv IS NOT NULL) d
  WHERE ct.lexeme = d.lexeme AND ct.chunk_id = d.id;
  DELETE FROM chunk_lengths cl USING sot_bm25_old o WHERE cl.chunk_id = o.id;
  RETURN NULL;
END $$;

CREATE FUNCTION sot_bm25_update() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  changed uuid[];
BEGIN
  -- Only rows whose words or collection changed are re-indexed: the ingest pipeline also updates
  -- chunks for other reasons (embeddings, positions), which must not cost a rewrite of their postings.
  changed := ARRAY(
    SELECT n.id FROM sot_bm25_new n JOIN sot_bm25_old o ON o.id = n.id
    WHERE o.tsv IS DISTINCT FROM n.tsv OR o.collection_id <> n.collection_id);
  IF cardinality(changed) = 0 THEN RETURN NULL; END IF;
  DELETE FROM chunk_terms ct
  USING (SELECT o.id, u.lexeme FROM sot_bm25_old o, unnest(tsvector_to_array(o.tsv)) AS u(lexeme)
         WHERE o.tsv IS NOT NULL AND o.id = ANY(changed)) d
  WHERE ct.lexeme = d.lexeme AND ct.chunk_id = d.id;
  DELETE FROM chunk_lengths WHERE chunk_id = ANY(changed);
  PERFORM sot_bm25_index(changed);
  RETURN NULL;
END $$;

CREATE FUNCTION sot_bm25_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  TRUNCATE chunk_terms, chunk_lengths;
  RETURN NULL;
END $$;

CREATE TRIGGER "chunks_bm25_insert" AFTER INSERT ON "chunks"
  REFERENCING NEW TABLE AS sot_bm25_new FOR EACH STATEMENT EXECUTE FUNCTION sot_bm25_add();
CREATE TRIGGER "chunks_bm25_delete" AFTER DELETE ON "chunks"
  REFERENCING OLD TABLE AS sot_bm25_old FOR EACH STATEMENT EXECUTE FUNCTION sot_bm25_remove();
CREATE TRIGGER "chunks_bm25_update" AFTER UPDATE ON "chunks"
  REFERENCING OLD TABLE AS sot_bm25_old NEW TABLE AS sot_bm25_new FOR EACH STATEMENT EXECUTE FUNCTION sot_bm25_update();
CREATE TRIGGER "chunks_bm25_truncate" AFTER TRUNCATE ON "chunks"
  FOR EACH STATEMENT EXECUTE FUNCTION sot_bm25_truncate();

-- ───────────── conversations (the Ask page's history, per user) ─────────────
CREATE TABLE "conversations" (
  "id" UUID NOT NULL DEFAULT gen_random_uuid(),
  "user_id" UUID NOT NULL REFERENCES "users"("id") ON DELETE CASCADE,
  "title" TEXT NOT NULL,
  "collection_ids" UUID[] NOT NULL DEFAULT ARRAY[]::UUID[],
  "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
  "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
  CONSTRAINT "conversations_pkey" PRIMARY KEY ("id")
);
CREATE INDEX "conversations_user_id_updated_at_idx" ON "conversations"("user_id", "updated_at");

CREATE TABLE "conversation_messages" (
  "id" UUID NOT NULL DEFAULT gen_random_uuid(),
  "conversation_id" UUID NOT NULL REFERENCES "conversations"("id") ON DELETE CASCADE,
  "role" TEXT NOT NULL,
  "content" TEXT NOT NULL,
  "query_log_id" UUID REFERENCES "query_logs"("id") ON DELETE SET NULL,
  "result" JSONB,
  "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
  CONSTRAINT "conversation_messages_pkey" PRIMARY KEY ("id"),
  CONSTRAINT "conversation_messages_role_check" CHECK ("role" IN ('user', 'assistant'))
);
CREATE INDEX "conversation_messages_conversation_id_created_at_idx" ON "conversation_messages"("conversation_id", "created_at");

-- ───────────── thumbs up/down on answers ─────────────
CREATE TABLE "answer_feedback" (
  "id" UUID NOT NULL DEFAULT gen_random_uuid(),
  "query_log_id" UUID REFERENCES "query_logs"("id") ON DELETE SET NULL,
  "user_id" UUID REFERENCES "users"("id") ON DELETE SET NULL,
  "rating" INTEGER NOT NULL,
  "reason" TEXT,
  "comment" TEXT,
  "question" TEXT,
  "chunk_ids" UUID[] NOT NULL DEFAULT ARRAY[]::UUID[],
  "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
  CONSTRAINT "answer_feedback_pkey" PRIMARY KEY ("id"),
  CONSTRAINT "answer_feedback_rating_check" CHECK ("rating" IN (-1, 1))
);
CREATE INDEX "answer_feedback_created_at_idx" ON "answer_feedback"("created_at");
