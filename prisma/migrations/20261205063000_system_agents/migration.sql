-- SOT's own agents (the Notion sync agent, the query agent, the evaluation agent): made at start-up,
-- owned by no person. An agent without an owner is refused unless it is one of these; their tokens are
-- issued by SOT itself (they have no usable credential) and are as short-lived as any other.
ALTER TABLE agents ADD COLUMN system boolean NOT NULL DEFAULT false;

-- The wiki passages an evaluation run keeps about an item, sealed under KES key wiki-knowledge-key by
-- SOT's query agent (readers: the query and evaluation agents); run_items.sources then keeps only the
-- passages' titles, links and ids. NULL: stored before sealing, or with no key service configured.
ALTER TABLE run_items ADD COLUMN sealed_passages text;
