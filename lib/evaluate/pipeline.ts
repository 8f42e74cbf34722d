// How an evaluation run gets an answer: the same ask pipeline as POST /api/evaluate, called as a
// system principal that may read every collection (runs are started by admins, evaluators and the scheduler).
import type { Principal } from "../auth/roles";
import { UnavailableError } from "../errors";

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

export type AnswerFn = (question: string, principal: Principal, signal?: AbortSignal) => Promise<PipelineAnswer>;

export const RUN_PRINCIPAL: Principal = {
  kind: "api_key",
  userId: null,
  apiKeyId: null,
  label: "evaluation run",
  role: "admin",
  permissions: new Set(["ask"]),
  keyCollectionIds: [],
};

export const askPipeline: AnswerFn = async () => {
  // Wired to lib/answer's ask() once the ask area lands it (see the report).
  throw new UnavailableError("The ask pipeline is not available yet.");
};
