// How an evaluation run gets an answer: the same ask pipeline as POST /api/evaluate, called with the
// access context of whoever started the run (lib/evaluate/runs.ts re-resolves it for every job).
import type { AccessContext } from "../access/context";
import { ask } from "../answer";

export interface PipelineSource {
  n: number;
  documentId: string | null;
  chunkId: string | null;
  externalId: string | null;
  title: string | null;
  url: string | null;
  text: string;
}

export interface PipelineAnswer {
  answer: string;
  /** In rank order (the first is the best). */
  sources: PipelineSource[];
  promptTokens: number | null;
  completionTokens: number | null;
  queryLogId: string | null;
  /** The answer was made in budget mode (lib/usage/budget-check.ts): the run skips its judge. */
  budgetMode?: boolean;
}

export type AnswerFn = (ctx: AccessContext, question: string, opts: { signal?: AbortSignal }) => Promise<PipelineAnswer>;

/** The real pipeline, non-streamed. A pipeline error fails the item; "no model" answers are judged like any other. */
export const askPipeline: AnswerFn = async (ctx, question, { signal }) => {
  const r = await ask(ctx, { question, stream: false }, { signal });
  if (r.status === "error" || r.status === "aborted") throw new Error(r.error ?? `The ask pipeline ended with status ${r.status}.`);
  return {
    answer: r.answer,
    sources: r.sources.map((s) => ({
      n: s.n,
      documentId: s.documentId,
      chunkId: s.chunkId,
      externalId: null,
      title: s.title,
      url: s.url,
      text: s.text,
    })),
    promptTokens: r.tokens.prompt,
    completionTokens: r.tokens.completion,
    queryLogId: r.id,
    budgetMode: r.budget.mode === "budget",
  };
};
