// How an evaluation run gets an answer: the same ask pipeline as POST /api/evaluate, called as a
// system principal that may read every collection (runs are started by admins, evaluators and the scheduler).
import { ask } from "../answer";
import type { Principal } from "../auth/roles";
import type { Db } from "../db/client";

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
}

export type AnswerFn = (question: string, principal: Principal, opts: { signal?: AbortSignal; db?: Db }) => Promise<PipelineAnswer>;

export const RUN_PRINCIPAL: Principal = {
  kind: "api_key",
  userId: null,
  apiKeyId: null,
  label: "evaluation run",
  role: "admin",
  permissions: new Set(["ask"]),
  keyCollectionIds: [],
};

/** The real pipeline, non-streamed. A pipeline error fails the item; "no model" answers are judged like any other. */
export const askPipeline: AnswerFn = async (question, principal, { signal, db }) => {
  const r = await ask({ question, stream: false }, principal, { signal, db });
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
  };
};
