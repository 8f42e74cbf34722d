// Thumbs up/down on answers, stored with the chunks that were put in front of the model, so a bad
// answer can be traced to what retrieval gave it. Admins list and export them (CSV, JSONL).
import { z } from "zod";
import { requireAdmin, type AccessContext } from "../access/context";
import { getConfig } from "../config";
import { toCsv } from "../csv";
import { NotFoundError } from "../errors";

export const FEEDBACK_REASONS = ["wrong", "incomplete", "not_in_wiki", "bad_sources", "outdated", "helpful", "other"] as const;

export const feedbackInputSchema = z.object({
  queryLogId: z.string().uuid("queryLogId must be the id from the answer's final event"),
  rating: z.union([z.literal(1), z.literal(-1)], { message: "rating must be 1 (thumbs up) or -1 (thumbs down)" }),
  reason: z.enum(FEEDBACK_REASONS).optional(),
  comment: z.string().max(2000, "comment is longer than 2000 characters").optional(),
});
export type FeedbackInput = z.infer<typeof feedbackInputSchema>;

export async function submitFeedback(ctx: AccessContext, input: FeedbackInput) {
  const { db, principal } = ctx;
  // Only the asker (the same user on the Ask page, or the same key) may rate an answer; anyone else is
  // told it does not exist.
  const ql = principal.userId
    ? await db.prisma.queryLog.findFirst({
        where: { id: input.queryLogId, userId: principal.userId, apiKeyId: principal.kind === "api_key" ? principal.apiKeyId : null },
      })
    : null;
  if (!ql) throw new NotFoundError(`No answer ${input.queryLogId} of yours to rate.`);
  const retrieved = (ql.retrieved as Array<{ chunkId: string; packed?: boolean }>) ?? [];
  const chunkIds = retrieved.filter((r) => r.packed).map((r) => r.chunkId);
  return db.prisma.answerFeedback.create({
    data: {
      queryLogId: ql.id,
      userId: principal.userId,
      rating: input.rating,
      reason: input.reason ?? null,
      comment: input.comment ?? null,
      question: getConfig().LOG_QUERY_TEXT ? ql.question : null,
      chunkIds,
    },
    select: { id: true, rating: true, reason: true, chunkIds: true, createdAt: true },
  });
}

export interface FeedbackRow {
  id: string;
  createdAt: string;
  rating: number;
  reason: string | null;
  comment: string | null;
  question: string | null;
  user: string | null;
  queryLogId: string | null;
  chunks: Array<{ chunkId: string; title: string | null; url: string | null; excerpt: string | null }>;
}

/** Every answer's feedback, for administrators (who may read every collection). */
export async function listFeedback(ctx: AccessContext, opts: { limit?: number; rating?: 1 | -1 } = {}): Promise<FeedbackRow[]> {
  requireAdmin(ctx);
  const { db } = ctx;
  const rows = await db.prisma.answerFeedback.findMany({
    where: opts.rating ? { rating: opts.rating } : {},
    orderBy: { createdAt: "desc" },
    take: opts.limit ?? 200,
    include: { user: { select: { email: true } } },
  });
  const ids = [...new Set(rows.flatMap((r) => r.chunkIds))];
  const chunks = ids.length
    ? await db.prisma.chunk.findMany({
        where: { id: { in: ids } },
        select: { id: true, text: true, anchor: true, document: { select: { title: true, url: true } } },
      })
    : [];
  const byId = new Map(chunks.map((c) => [c.id, c]));
  return rows.map((r) => ({
    id: r.id,
    createdAt: r.createdAt.toISOString(),
    rating: r.rating,
    reason: r.reason,
    comment: r.comment,
    question: r.question,
    user: r.user?.email ?? null,
    queryLogId: r.queryLogId,
    chunks: r.chunkIds.map((id) => {
      const c = byId.get(id);
      // A chunk replaced by a later import is gone; its id stays so the row is still honest.
      return {
        chunkId: id,
        title: c?.document.title ?? null,
        url: c?.document.url ? (c.anchor ? `${c.document.url}#${c.anchor}` : c.document.url) : null,
        excerpt: c ? c.text.slice(0, 300) : null,
      };
    }),
  }));
}

/** Feedback as CSV (formula-escaped by lib/csv.ts: comments and questions are anyone's text). */
export function feedbackToCsv(rows: FeedbackRow[]): string {
  const header = ["id", "created_at", "rating", "reason", "comment", "question", "user", "query_log_id", "chunk_ids", "chunk_titles"];
  return toCsv(
    header,
    rows.map((r) => [r.id, r.createdAt, r.rating, r.reason, r.comment, r.question, r.user, r.queryLogId, r.chunks.map((c) => c.chunkId).join(" "), r.chunks.map((c) => c.title ?? "").join(" | ")]),
  );
}

export const feedbackToJsonl = (rows: FeedbackRow[]) => rows.map((r) => JSON.stringify(r)).join("\n") + (rows.length ? "\n" : "");
