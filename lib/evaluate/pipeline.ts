// How an evaluation run gets an answer: the same ask pipeline as POST /api/evaluate, called as a
// system principal that may read every collection (runs are started by admins, evaluators and the scheduler).
import { ask } from "../answer";
import { ROLE_PERMISSIONS, type Principal, type Role } from "../auth/roles";
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

/**
 * Whose access a run's questions are asked with: the person who started it (so a run never shows an
 * evaluator wiki text they could not read on the Ask page); runs without a person (schedules, which only
 * admins create) read every collection. A creator who is gone or disabled reads unrestricted collections only.
 */
export async function runPrincipal(db: Db, createdById: string | null): Promise<Principal> {
  if (!createdById) return RUN_PRINCIPAL;
  const user = await db.prisma.user.findUnique({ where: { id: createdById } });
  if (!user || user.disabledAt) {
    return { ...RUN_PRINCIPAL, role: "viewer", label: "evaluation run (creator gone)", permissions: new Set(["ask"]) };
  }
  const role = user.role as Role;
  return {
    kind: "user",
    userId: user.id,
    apiKeyId: null,
    label: `evaluation run by ${user.email}`,
    role,
    permissions: new Set(ROLE_PERMISSIONS[role] ?? []),
    keyCollectionIds: [],
  };
}

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
