// The Ask API's input and output: one shape for the streamed form (SSE events) and the JSON form.
import { z } from "zod";
import type { RerankStatus } from "../retrieve";
import type { BudgetReport } from "../usage/types";

export const askInputSchema = z.object({
  question: z.string().trim().min(1, "question must not be empty").max(4000, "question is longer than 4000 characters"),
  /** Collection ids to search; omitted or empty: every collection the caller may read. */
  collections: z.array(z.string().uuid("collections must be collection ids (UUIDs)")).max(100).optional(),
  /** Earlier turns, oldest first (ignored when conversationId is given: the stored history is used). */
  history: z
    .array(z.object({ role: z.enum(["user", "assistant"]), content: z.string().max(20000) }))
    .max(50)
    .optional(),
  /** Continue a stored conversation (the caller's own). */
  conversationId: z.string().uuid().optional(),
  /** Start a stored conversation with this question (signed-in users). */
  saveConversation: z.boolean().optional(),
  /** Replace the conversation's last question and answer instead of appending (the Regenerate button). */
  regenerate: z.boolean().optional(),
  /** Server-Sent Events (default) or one JSON document. */
  stream: z.boolean().default(true),
  /** false: keep the fused order (evaluations may pin this). */
  rerank: z.boolean().optional(),
});
export type AskInput = z.input<typeof askInputSchema>;
export type ParsedAskInput = z.output<typeof askInputSchema>;

export interface AskSource {
  /** The number the answer cites, [n]. */
  n: number;
  chunkId: string;
  documentId: string;
  collectionId: string;
  title: string;
  /** The page's URL with the block/heading anchor when known (#…). */
  url: string | null;
  anchor: string | null;
  headingPath: string[];
  breadcrumb: string[];
  /** The chunk's text as the model saw it (with the next chunk appended when this one is very short). */
  text: string;
  /** Chunks appended to this source's text (see neighbourChunkIds in the README). */
  neighbourChunkIds?: string[];
  scores: { vector: number | null; text: number | null; fused: number; rerank: number | null };
  ranks: { vector: number | null; text: number | null; fused: number; final: number };
  /** Whether the answer cites it. */
  cited: boolean;
}

export interface AskCitation {
  n: number;
  chunkId: string;
  /** Offset in `answer` where the citation stands. */
  offset: number;
}

export type AskStatus = "ok" | "no_model" | "error" | "aborted";

export interface AskResult {
  /** The query log id: pass it to POST /api/feedback. */
  id: string;
  conversationId: string | null;
  question: string;
  /** The question actually searched (follow-ups rewritten with the history). */
  standaloneQuestion: string;
  answer: string;
  status: AskStatus;
  /** false when the answer is "the wiki does not cover this". */
  covered: boolean;
  sources: AskSource[];
  citations: AskCitation[];
  invalidCitations: number;
  model: string | null;
  embed: { status: "ok" | "unavailable"; model: string };
  rerank: { status: RerankStatus; model?: string; reason?: string };
  /** guardrailsMs: what the budget check, the reservations and the usage ledger took of the total (lib/usage). */
  timings: { rewriteMs: number; embedMs: number; retrieveMs: number; rerankMs: number; firstTokenMs: number | null; totalMs: number; guardrailsMs: number };
  tokens: { prompt: number; completion: number };
  /** The caller's budget: "budget" mode (the fallback model, fewer sources, no rewrite), its use and limit. */
  budget: BudgetReport;
  error?: string;
}

export type AskEvent =
  | { event: "start"; data: { conversationId: string | null; question: string; standaloneQuestion: string; collections: string[]; budget: BudgetReport } }
  | { event: "sources"; data: { sources: AskSource[] } }
  | { event: "token"; data: { text: string } }
  | { event: "citation"; data: { n: number; chunkId: string } }
  | { event: "done"; data: AskResult }
  | { event: "error"; data: { code: string; message: string } };

/** One of the caller's conversations, as the Ask page's list and GET /api/conversations show it. */
export interface ConversationSummary {
  id: string;
  title: string;
  collectionIds: string[];
  createdAt: string;
  updatedAt: string;
}
