// Prompts and context packing. The model sees numbered sources and must answer only from them, citing
// [n], or say the wiki does not cover the question. num_ctx is always set explicitly (Ollama's default
// window silently truncates long prompts), and the sources are packed to fit inside it.
import type { ChatMessage } from "../llm";

export const NOT_COVERED_TEXT = "The wiki does not cover this.";
export const PROMPT_VERSION = "ask-v1";

export const SYSTEM_PROMPT = `You answer questions about the company wiki.
Rules:
- Use ONLY the numbered sources in the user's message. Never use outside knowledge.
- After every sentence that states a fact, cite its source number in square brackets, e.g. [1] or [2][3].
- Cite only numbers that appear in the sources.
- If the sources do not answer the question, reply exactly: "${NOT_COVERED_TEXT}"
- Be concise. Answer in the language of the question.`;

/** Rough token count (about four characters a token for English); used only for budgeting. */
export const estimateTokens = (text: string) => Math.ceil(text.length / 4);

export interface PackableChunk {
  chunkId: string;
  title: string;
  headingPath: string[];
  text: string;
  tokenCount: number;
}

export function sourceHeader(c: Pick<PackableChunk, "title" | "headingPath">): string {
  const path = c.headingPath.filter((h) => h && h !== c.title);
  return [c.title, ...path].join(" › ");
}

/**
 * Takes chunks in rank order while they fit the budget: num_ctx minus the answer's reserve, the system
 * prompt, the question and a margin for the chat template. A chunk that does not fit is skipped (a
 * shorter one after it may still fit).
 */
export function packContext<T extends PackableChunk>(
  ranked: T[],
  opts: { numCtx: number; answerTokens: number; maxSources: number; question: string },
): { chunks: T[]; remaining: number } {
  let budget = opts.numCtx - opts.answerTokens - estimateTokens(SYSTEM_PROMPT) - estimateTokens(opts.question) - 64;
  const out: T[] = [];
  for (const c of ranked) {
    if (out.length >= opts.maxSources) break;
    const cost = Math.max(c.tokenCount, estimateTokens(c.text)) + estimateTokens(sourceHeader(c)) + 8;
    if (cost > budget) continue;
    budget -= cost;
    out.push(c);
  }
  return { chunks: out, remaining: budget };
}

/** A chunk this short is usually a heading or the lead-in of a list or table that the next chunk holds. */
export const SHORT_CHUNK_TOKENS = 60;

export function buildMessages(question: string, sources: Array<Pick<PackableChunk, "title" | "headingPath" | "text">>): ChatMessage[] {
  const blocks = sources.map((s, i) => `[${i + 1}] ${sourceHeader(s)}\n${s.text.trim()}`).join("\n\n");
  return [
    { role: "system", content: SYSTEM_PROMPT },
    { role: "user", content: `Sources:\n\n${blocks}\n\nQuestion: ${question}` },
  ];
}

export const REWRITE_SCHEMA = {
  type: "object",
  properties: { question: { type: "string" } },
  required: ["question"],
} as const;

/** A follow-up ("and on Fridays?") becomes a question that can be searched on its own. */
export function rewriteMessages(history: Array<{ role: "user" | "assistant"; content: string }>, question: string): ChatMessage[] {
  const turns = history
    .slice(-6)
    .map((m) => `${m.role === "user" ? "User" : "Assistant"}: ${m.content.slice(0, 1500)}`)
    .join("\n");
  return [
    {
      role: "system",
      content:
        "Rewrite the user's follow-up question as one stand-alone question that can be understood without the conversation. " +
        'Keep names and terms exactly. Do not answer it. Reply as JSON: {"question": "..."}.',
    },
    { role: "user", content: `Conversation:\n${turns}\n\nFollow-up: ${question}` },
  ];
}

/** Whether an answer is the model saying the wiki has nothing (with or without extra words). */
export function isNotCovered(answer: string): boolean {
  return /\b(wiki|sources?) (does|do) not (cover|contain|answer)/i.test(answer);
}
