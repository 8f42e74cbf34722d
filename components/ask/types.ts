// The shapes the Ask page receives (mirrors lib/answer/types.ts; UI code must not import lib/ runtime code).
export interface Source {
  n: number;
  chunkId: string;
  documentId: string;
  title: string;
  url: string | null;
  /** Block id or heading slug of the chunk in its page, where known. */
  anchor: string | null;
  headingPath: string[];
  text: string;
  scores: { vector: number | null; text: number | null; fused: number; rerank: number | null };
  cited: boolean;
}

export interface Result {
  id: string;
  conversationId: string | null;
  answer: string;
  status: "ok" | "no_model" | "error" | "aborted";
  covered: boolean;
  sources: Source[];
  invalidCitations: number;
  model: string | null;
  rerank: { status: string; reason?: string };
  embed: { status: string };
  timings: { embedMs: number; retrieveMs: number; rerankMs: number; firstTokenMs: number | null; totalMs: number };
  tokens: { prompt: number; completion: number };
  error?: string;
}

export interface Turn {
  key: string;
  question: string;
  answer: string;
  sources: Source[];
  result: Result | null;
  state: "streaming" | "done" | "stopped" | "error";
  error?: string;
  feedback?: 1 | -1;
}

export interface CollectionOption {
  id: string;
  name: string;
}

export interface ConversationSummary {
  id: string;
  title: string;
  updatedAt: string;
}
