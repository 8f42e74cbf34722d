// The wiki passages an evaluation run keeps about its items, sealed under KES key `wiki-knowledge-key`.
// A run item outlives the documents it quotes (a page deleted, a collection restricted later) and
// travels in every backup; sealed, its copy of the wiki opens only through KES, for SOT's query agent
// (which seals what the ask pipeline retrieved) and its evaluation agent (which reads it back for the
// run page and the annotation queue), each with its own grant, checked and audited on every call.
// The blob names both as its allowed readers and is bound to its run item's row.
//
// Sealing is on when a key service is configured: KES_URL, or MASTER_KEYS / MASTER_KEY_FILE for the
// embedded one. Without (a bare development setup on its generated key file), passages are kept as before.
import { EVAL_AGENT, QUERY_AGENT, WIKI_KNOWLEDGE_KEY, ensureSystemAgents, systemAgentContext } from "../agents/system";
import { getConfig } from "../config";
import type { Db } from "../db/client";
import { agentDecryptBound, agentEncrypt } from "../kes/agent-api";
import type { PipelineSource } from "./pipeline";

const context = (runItemId: string) => ({ table: "run_items", row: runItemId });

export function sealingConfigured(): boolean {
  const c = getConfig();
  return !!(c.KES_URL || c.MASTER_KEYS || c.MASTER_KEY_FILE);
}

/** The sources to store (texts taken out) and their texts sealed; as they are when sealing is not configured. */
export async function sealPassages(db: Db, runItemId: string, sources: PipelineSource[]): Promise<{ sources: PipelineSource[]; sealed: string | null }> {
  if (!sealingConfigured() || sources.length === 0) return { sources, sealed: null };
  await ensureSystemAgents(db);
  const ctx = await systemAgentContext(db, QUERY_AGENT);
  const { blob } = await agentEncrypt(ctx, {
    keyId: WIKI_KNOWLEDGE_KEY,
    plaintext: Buffer.from(JSON.stringify(sources.map((s) => s.text))),
    context: context(runItemId),
    allowedReaders: [QUERY_AGENT, EVAL_AGENT],
  });
  return { sources: sources.map((s) => ({ ...s, text: "" })), sealed: blob };
}

/**
 * The item's sources with their texts opened by the evaluation agent. A passage that cannot be opened
 * (KES down, the key shredded, the agent disabled) reads as a note saying so, never as another text.
 */
export async function openPassages<T extends { text?: string | null }>(db: Db, item: { id: string; sources: unknown; sealedPassages: string | null }): Promise<T[]> {
  const sources = (Array.isArray(item.sources) ? item.sources : []) as T[];
  if (!item.sealedPassages) return sources;
  let texts: string[];
  try {
    await ensureSystemAgents(db);
    const ctx = await systemAgentContext(db, EVAL_AGENT);
    texts = JSON.parse((await agentDecryptBound(ctx, item.sealedPassages, context(item.id))).toString("utf8")) as string[];
  } catch (err) {
    const note = `[sealed passage unreadable: ${(err as Error).message}]`;
    return sources.map((s) => ({ ...s, text: note }));
  }
  return sources.map((s, i) => ({ ...s, text: texts[i] ?? "" }));
}
