-- Notion sync that never loses a page, and a webhook handshake only an admin can open.

-- The subscription handshake is accepted only while an admin has opened it (until this instant; the
-- Sources page opens it for 15 minutes). It is taken with one compare-and-set UPDATE that closes it,
-- so two concurrent handshakes cannot both set the verification token.
ALTER TABLE sources
  ADD COLUMN webhook_handshake_until timestamptz(3),
  -- When the current verification token was set (null: none). The token itself stays encrypted.
  ADD COLUMN webhook_verified_at timestamptz(3);

-- Warnings of an import: a page imported with something left out (an unreadable block, a page in the
-- trash that a partial import leaves to a full sync), never a failed page.
ALTER TABLE import_jobs ADD COLUMN warnings integer NOT NULL DEFAULT 0;
ALTER TABLE import_job_items ADD COLUMN warning text;
