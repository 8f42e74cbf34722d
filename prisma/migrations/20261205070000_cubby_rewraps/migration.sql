-- A cubby's rewrap as a background job (lib/cubbies/rewrap.ts): every value's data key rewrapped by the
-- key's current version inside KES, with progress the admin page follows. At most one queued or running
-- rewrap per cubby.
CREATE TABLE cubby_rewraps (
  id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  cubby_id     uuid NOT NULL REFERENCES cubbies(id) ON DELETE CASCADE,
  -- queued | running | succeeded | failed
  status       text NOT NULL DEFAULT 'queued',
  -- the key version values are moved to (the current one when the job started)
  to_version   int,
  items_total  int NOT NULL DEFAULT 0,
  items_done   int NOT NULL DEFAULT 0,
  rewrapped    int NOT NULL DEFAULT 0,
  requested_by text NOT NULL,
  error        text,
  created_at   timestamptz(3) NOT NULL DEFAULT now(),
  started_at   timestamptz(3),
  finished_at  timestamptz(3),
  heartbeat_at timestamptz(3)
);
CREATE INDEX cubby_rewraps_cubby_id_created_at_idx ON cubby_rewraps (cubby_id, created_at);
CREATE UNIQUE INDEX cubby_rewraps_one_active_idx ON cubby_rewraps (cubby_id) WHERE status IN ('queued', 'running');
