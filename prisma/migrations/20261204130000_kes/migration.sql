-- KES, the key service (lib/kes, workers/kes.ts). Named keys with versions; each version's 32-byte key
-- material is stored wrapped by a master key that only the KES process holds (master_key_id says which),
-- with the key's name and version as associated data, so a wrapped version copied to another key or
-- version does not unwrap. Shredding clears the material: what the key protected is unreadable after.
CREATE TABLE kes_keys (
  id                     uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  name                   text NOT NULL UNIQUE,
  -- "service:<name>" or "agent:<id>": may manage the key (rotate, grant, disable, shred) and use it.
  owner                  text NOT NULL,
  -- Principals that may generate and decrypt data keys under this key (besides the owner and grants).
  readers                text[] NOT NULL DEFAULT '{}',
  -- "active" | "disabled" | "shredded"
  status                 text NOT NULL DEFAULT 'active',
  -- New data keys are wrapped by this version.
  current_version        integer NOT NULL DEFAULT 1,
  -- Data keys wrapped by an older version are refused.
  min_decryption_version integer NOT NULL DEFAULT 1,
  created_at             timestamptz(3) NOT NULL DEFAULT now(),
  shredded_at            timestamptz(3)
);

CREATE TABLE kes_key_versions (
  key_id        uuid NOT NULL REFERENCES kes_keys(id) ON DELETE CASCADE,
  version       integer NOT NULL,
  -- Id of the master key that wraps the material; NULL once shredded.
  master_key_id text,
  -- nonce(12) ‖ wrapped material(32) ‖ tag(16); NULL once shredded.
  material      bytea,
  created_at    timestamptz(3) NOT NULL DEFAULT now(),
  PRIMARY KEY (key_id, version)
);

-- Grants on a key (AWS KMS style): a grantee, the operations it may use, an optional expiry; revoking
-- sets revoked_at and holds for the very next call (every call reads the grants).
CREATE TABLE kes_grants (
  id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  key_id      uuid NOT NULL REFERENCES kes_keys(id) ON DELETE CASCADE,
  grantee     text NOT NULL,
  -- subset of {"generate", "decrypt"}
  operations  text[] NOT NULL,
  expires_at  timestamptz(3),
  created_by  text NOT NULL,
  created_at  timestamptz(3) NOT NULL DEFAULT now(),
  revoked_at  timestamptz(3)
);
CREATE INDEX kes_grants_key_grantee_idx ON kes_grants (key_id, grantee);
