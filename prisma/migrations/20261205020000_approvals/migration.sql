-- Approvals for risky actions (lib/approvals) and notification targets (lib/notify).
--
-- An approval request stores the action and its exact arguments with their hash: the action later runs
-- only when the hash of what it is about to do equals the stored one. Status moves
--   pending → approved | rejected | expired,   approved → executing → executed | failed,   approved → expired
-- each step by a compare-and-set UPDATE (… WHERE status = <expected>), so two processes or a double click
-- move it once.
CREATE TABLE approvals (
  id                      uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  -- e.g. "evaluation.run", "collection.delete", "backup.restore" (lib/approvals/actions.ts)
  action                  text NOT NULL,
  -- The exact arguments (ids, numbers, enums: never wiki text) and sha256 of {action, args} in canonical JSON.
  args                    jsonb NOT NULL,
  args_sha256             text NOT NULL,
  -- One line for lists, built from ids and counts.
  summary                 text NOT NULL,
  status                  text NOT NULL DEFAULT 'pending',
  -- Approvals needed (APPROVAL_QUORUM when requested).
  quorum                  integer NOT NULL,
  requested_by_user_id    uuid,
  requested_by_api_key_id uuid,
  requested_by_label      text NOT NULL,
  -- The requester's ActorRef (lib/access/context.ts): the action runs with the requester's access as it is then.
  requester_ref           jsonb NOT NULL,
  expires_at              timestamptz(3) NOT NULL,
  created_at              timestamptz(3) NOT NULL DEFAULT now(),
  decided_at              timestamptz(3),
  executed_at             timestamptz(3),
  finished_at             timestamptz(3),
  -- Who ran it ("job", "cli:<host>", …) and what it produced (ids and counts).
  executed_by             text,
  result                  jsonb,
  error                   text
);
CREATE INDEX approvals_status_created ON approvals (status, created_at DESC);
CREATE INDEX approvals_expiring ON approvals (expires_at) WHERE status IN ('pending', 'approved');

CREATE TABLE approval_decisions (
  id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  approval_id      uuid NOT NULL REFERENCES approvals(id) ON DELETE CASCADE,
  approver_user_id uuid NOT NULL,
  approver_label   text NOT NULL,
  -- "approve" | "reject"
  decision         text NOT NULL,
  comment          text NOT NULL,
  created_at       timestamptz(3) NOT NULL DEFAULT now(),
  -- One decision per approver: a double click is a second insert that does nothing.
  UNIQUE (approval_id, approver_user_id)
);

-- Where notifications go. `config` holds what is not secret (SMTP host, port, from, to); `secret` the
-- envelope-encrypted JSON of what is (a Discord or webhook URL with its token, the HMAC signing secret,
-- the SMTP password), as lib/crypto/secrets.ts stores secrets.
CREATE TABLE notification_targets (
  id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  name       text NOT NULL,
  -- "discord" | "webhook" | "email"
  kind       text NOT NULL,
  config     jsonb NOT NULL DEFAULT '{}',
  secret     text NOT NULL,
  -- Event kinds it receives (lib/notify/events.ts); empty = every kind.
  events     text[] NOT NULL DEFAULT '{}',
  enabled    boolean NOT NULL DEFAULT true,
  created_by text NOT NULL,
  created_at timestamptz(3) NOT NULL DEFAULT now(),
  updated_at timestamptz(3) NOT NULL DEFAULT now()
);

-- One event for one target: the rendered body is not kept (it is rebuilt from `event` when sent).
CREATE TABLE notification_deliveries (
  id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  target_id  uuid NOT NULL REFERENCES notification_targets(id) ON DELETE CASCADE,
  event_kind text NOT NULL,
  -- The event: ids, counts, statuses (lib/notify/events.ts), never collection text.
  event      jsonb NOT NULL,
  -- "queued" | "sent" | "failed"
  status     text NOT NULL DEFAULT 'queued',
  attempts   integer NOT NULL DEFAULT 0,
  error      text,
  created_at timestamptz(3) NOT NULL DEFAULT now(),
  sent_at    timestamptz(3)
);
CREATE INDEX notification_deliveries_target_created ON notification_deliveries (target_id, created_at DESC);
