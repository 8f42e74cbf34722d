// The Ask page's own state. What the server sends (sources, the result) is typed once in
// lib/answer/types.ts and imported here as types only (erased from the browser bundle).
import type { AskResult, AskSource } from "@/lib/answer/types";
import type { BudgetReport } from "@/lib/usage/types";

export type { ConversationSummary } from "@/lib/answer/types";

export type { CollectionOption } from "@/lib/access/types";
export type Source = AskSource;
export type Result = AskResult;

/** One question and its answer as the page shows it, streaming or stored. */
export interface Turn {
  key: string;
  question: string;
  answer: string;
  sources: Source[];
  result: Result | null;
  /** The asker's budget as the answer started (budget mode shows a notice). */
  budget?: BudgetReport;
  state: "streaming" | "done" | "stopped" | "error";
  error?: string;
  feedback?: 1 | -1;
}
