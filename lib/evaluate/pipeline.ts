// How an evaluation run gets an answer: the same ask pipeline as POST /api/evaluate, called as a
// system principal that may read every collection (runs are started by admins, evaluators and the scheduler).
import { accessContextFor, accessContextForActor, type AccessContext } from "../access/context";
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

export type AnswerFn = (ctx: AccessContext, question: string, opts: { signal?: AbortSignal }) => Promise<PipelineAnswer>;

/**
 * Whose access a run's questions are asked with: the person who started it (so a run never shows an
 * evaluator wiki text they could not read on the Ask page); runs without a person (schedules, which only
 * admins create) read every collection. A creator who is gone or disabled reads unrestricted collections only.
 */
export async function runContext(db: Db, createdById: string | null): Promise<AccessContext> {
  if (!createdById) return accessContextFor(db, RUN_PRINCIPAL);
  return accessContextForActor(db, { userId: createdById, apiKeyId: null, collectionIds: (await db.prisma.collection.findMany({ select: { id: true } })).map((c) => c.id), label: "the person who started this run" });
}

export const RUN_PRINCIPAL: Principal = {
  kind: "api_key",
  userId: null,
  apiKeyId: null,
  label: "evaluation run",
  role: "admin",
  permissions: new Set(["ask"]),
  collectionLimit: null,
};

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
  };
};
