-- Weighted fusion per collection: how much the vector and the full-text ranking each count when the two
-- are fused, the candidates taken from each stage, and what the last tuning measured (before / after).
ALTER TABLE collections
  ADD COLUMN fusion_vector_weight double precision NOT NULL DEFAULT 1 CHECK (fusion_vector_weight >= 0 AND fusion_vector_weight <= 10),
  ADD COLUMN fusion_text_weight double precision NOT NULL DEFAULT 1 CHECK (fusion_text_weight >= 0 AND fusion_text_weight <= 10),
  ADD COLUMN retrieve_candidates integer CHECK (retrieve_candidates BETWEEN 5 AND 500),
  ADD COLUMN fusion_tuning jsonb;
ALTER TABLE collections ADD CONSTRAINT collections_fusion_weights_not_both_zero CHECK (fusion_vector_weight + fusion_text_weight > 0);
