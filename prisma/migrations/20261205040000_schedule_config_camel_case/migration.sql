-- The schedules API speaks camelCase like every other API, and a target's settings are stored as the API
-- takes them: rename the snake_case keys of existing targets (dataset_id, source_id, timeout_seconds).
UPDATE "schedules"
SET "target_config" = ("target_config" - 'dataset_id') || jsonb_build_object('datasetId', "target_config" -> 'dataset_id')
WHERE "target_config" ? 'dataset_id';

UPDATE "schedules"
SET "target_config" = ("target_config" - 'source_id') || jsonb_build_object('sourceId', "target_config" -> 'source_id')
WHERE "target_config" ? 'source_id';

UPDATE "schedules"
SET "target_config" = ("target_config" - 'timeout_seconds') || jsonb_build_object('timeoutSeconds', "target_config" -> 'timeout_seconds')
WHERE "target_config" ? 'timeout_seconds';
