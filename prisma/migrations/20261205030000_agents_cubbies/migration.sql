-- Agents (principals beside users and API keys), their short-lived tokens, and Cubbies (encrypted
-- key-value spaces that agents share by grant; the grants themselves are KES grants on the cubby's key).

-- An agent: a name other agents and grants refer to, the person responsible for it, and a credential
-- (stored as its SHA-256 only) that it exchanges for short-lived tokens.
CREATE TABLE agents (
  id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  name              text NOT NULL UNIQUE,
  description       text,
  owner_id          uuid REFERENCES users(id) ON DELETE SET NULL,
  credential_prefix text NOT NULL,
  credential_hash   text NOT NULL UNIQUE,
  disabled_at       timestamptz(3),
  last_used_at      timestamptz(3),
  created_at        timestamptz(3) NOT NULL DEFAULT now()
);

-- A token held by agent_id. A root token (no parent) carries the agent's own authority; a delegated
-- token carries its parent's, narrowed to one cubby and some operations, and never outlives it.
CREATE TABLE agent_tokens (
  id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  agent_id    uuid NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
  parent_id   uuid REFERENCES agent_tokens(id) ON DELETE CASCADE,
  token_hash  text NOT NULL UNIQUE,
  -- NULL: every cubby its authority reaches; else that cubby's name only.
  cubby       text,
  -- a subset of {"read", "write", "grant"} (a root token names all three; its authority is the agent's grants)
  operations  text[] NOT NULL,
  expires_at  timestamptz(3) NOT NULL,
  revoked_at  timestamptz(3),
  created_at  timestamptz(3) NOT NULL DEFAULT now()
);
CREATE INDEX agent_tokens_agent_idx ON agent_tokens (agent_id, expires_at);
CREATE INDEX agent_tokens_parent_idx ON agent_tokens (parent_id);

-- A cubby; its KES key is "cubby.<name>" and who may read, write and grant is that key's grants.
CREATE TABLE cubbies (
  id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  name        text NOT NULL UNIQUE,
  created_by  text NOT NULL,
  created_at  timestamptz(3) NOT NULL DEFAULT now()
);

-- One value: the KES envelope (wrapped data key ~ sealed JSON) only, never the value in clear. Its
-- encryption context is {cubby id, item key, version}: a ciphertext copied to another row, cubby or
-- version does not decrypt.
CREATE TABLE cubby_items (
  cubby_id    uuid NOT NULL REFERENCES cubbies(id) ON DELETE CASCADE,
  key         text NOT NULL,
  version     integer NOT NULL,
  ciphertext  text NOT NULL,
  -- bytes of the value's JSON (before encryption), for listings and the admin page
  size        integer NOT NULL,
  updated_by  text NOT NULL,
  updated_at  timestamptz(3) NOT NULL DEFAULT now(),
  PRIMARY KEY (cubby_id, key)
);
