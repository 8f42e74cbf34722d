// Human evaluators: the annotation queue (one answer at a time), human scores, and judge-vs-human agreement.
// The queue does not show the judge's score, so a person's score is their own and the agreement figures
// measure something. Everything here sees only what the caller may read (lib/evaluate/scope.ts): run
// items of runs they may see, external outputs within their collections, and logged answers that are
// their own (admins: everyone's) within their collections. The filters are in the SQL.
import { z } from "zod";
import { requirePermission, type AccessContext } from "../access/context";
import { ForbiddenError, NotFoundError, ValidationError } from "../errors";
import { computeAgreement, type ScorePair } from "./agreement";
import { nextWaitingAnswer, readableAnswerScores, readableTargetStatus } from "./queries";
import { openPassages } from "./sealed-passages";
import type { AgreementView, AnnotationItemView } from "./types";

export const TARGET_KINDS = ["run_item", "external_output", "query_log"] as const;
export type TargetKind = (typeof TARGET_KINDS)[number];

export const humanScoreInput = z.object({
  targetKind: z.enum(TARGET_KINDS),
  targetId: z.string().uuid(),
  hallucinationScore: z.number().int("must be a whole number 1–5").min(1).max(5),
  comment: z.string().trim().max(4000).optional(),
});

export type QueueItem = AnnotationItemView & { createdAt: Date };

const targetColumn = { run_item: "runItemId", external_output: "externalOutputId", query_log: "queryLogId" } as const;

/** The person whose queue this is: human scores and skips are a person's (a key acts for its creator). */
function evaluatorOf(ctx: AccessContext): string {
  requirePermission(ctx, "score");
  if (!ctx.principal.userId) throw new ForbiddenError("The annotation queue is for signed-in evaluators.");
  return ctx.principal.userId;
}

/** The next answer for this evaluator: newest first, not yet scored by a person, not skipped by them. */
export async function nextQueueItem(ctx: AccessContext): Promise<QueueItem | null> {
  const userId = evaluatorOf(ctx);
  const { db } = ctx;
  const next = await nextWaitingAnswer(db.sql, ctx, userId);
  if (!next) return null;
  const { remaining } = next;
  if (next.kind === "run_item") {
    const run = await db.prisma.runItem.findUniqueOrThrow({ where: { id: next.id } });
    const sources = await openPassages<{ title?: string | null; url?: string | null; text?: string }>(db, run);
    return {
      targetKind: "run_item",
      targetId: run.id,
      question: run.question,
      answer: run.answer!,
      passages: sources.map((s) => ({ title: s.title ?? null, url: s.url ?? null, text: s.text ?? "" })),
      referenceAnswer: run.referenceAnswer,
      createdAt: run.createdAt,
      remaining,
    };
  }
  if (next.kind === "external_output") {
    const ext = await db.prisma.externalOutput.findUniqueOrThrow({ where: { id: next.id } });
    const passages = (ext.passages as Array<{ title?: string | null; url?: string | null; text?: string }>) ?? [];
    return {
      targetKind: "external_output",
      targetId: ext.id,
      question: ext.question,
      answer: ext.output,
      passages: passages.map((p) => ({ title: p.title ?? null, url: p.url ?? null, text: p.text ?? "" })),
      referenceAnswer: ext.referenceAnswer,
      createdAt: ext.createdAt,
      remaining,
    };
  }
  const qlog = await db.prisma.queryLog.findUniqueOrThrow({ where: { id: next.id } });
  return {
    targetKind: "query_log",
    targetId: qlog.id,
    question: qlog.question!,
    answer: qlog.answer!,
    passages: await queryLogPassages(ctx, qlog.retrieved),
    referenceAnswer: null,
    createdAt: qlog.createdAt,
    remaining,
  };
}

/** The passages a logged answer was built from (those in collections the caller reads). */
async function queryLogPassages(ctx: AccessContext, retrieved: unknown) {
  const ids = (Array.isArray(retrieved) ? retrieved : [])
    .map((r) => (r as { chunkId?: string }).chunkId)
    .filter((id): id is string => typeof id === "string")
    .slice(0, 10);
  if (ids.length === 0) return [];
  const chunks = await ctx.db.prisma.chunk.findMany({
    where: { id: { in: ids }, collectionId: { in: ctx.readableIds } },
    include: { document: { select: { title: true, url: true } } },
  });
  const byId = new Map(chunks.map((c) => [c.id, c]));
  return ids.flatMap((id) => {
    const c = byId.get(id);
    return c ? [{ title: c.document.title, url: c.document.url, text: c.text }] : [];
  });
}

/** 404 unless the target exists and the caller may read it; a run item must have an answer to score. */
async function assertTarget(ctx: AccessContext, kind: TargetKind, id: string) {
  const status = await readableTargetStatus(ctx.db.sql, ctx, kind, id);
  if (status === null) throw new NotFoundError(`The ${kind.replace("_", " ")} ${id}`);
  if (kind === "run_item" && status !== "ok") throw new ValidationError("This run item has no answer to score.");
}

export async function submitHumanScore(ctx: AccessContext, input: z.infer<typeof humanScoreInput>) {
  const userId = evaluatorOf(ctx);
  await assertTarget(ctx, input.targetKind, input.targetId);
  return ctx.db.prisma.$transaction(async (tx) => {
    const score = await tx.score.create({
      data: {
        kind: "human",
        status: "ok",
        userId,
        [targetColumn[input.targetKind]]: input.targetId,
        hallucinationScore: input.hallucinationScore,
        comment: input.comment || null,
      },
      select: { id: true, createdAt: true },
    });
    await tx.annotationSkip.deleteMany({ where: { userId, targetKind: input.targetKind, targetId: input.targetId } });
    return score;
  });
}

export async function skipQueueItem(ctx: AccessContext, target: { targetKind: TargetKind; targetId: string }) {
  const userId = evaluatorOf(ctx);
  await assertTarget(ctx, target.targetKind, target.targetId);
  await ctx.db.prisma.annotationSkip.upsert({
    where: { userId_targetKind_targetId: { userId, ...target } },
    create: { userId, ...target },
    update: {},
  });
  return { ok: true };
}

/** Agreement over answers the caller may read that have both a human score and an ok judge score (the latest of each). */
export async function agreementFigures(ctx: AccessContext, opts: { top?: number } = {}): Promise<AgreementView> {
  requirePermission(ctx, "score");
  const scores = await readableAnswerScores(ctx.db.sql, ctx);
  const latest = new Map<string, { judge?: number; human?: number; label: string; link: string | null }>();
  for (const s of scores) {
    const key = s.runItemId ? `run_item:${s.runItemId}` : s.externalOutputId ? `external_output:${s.externalOutputId}` : `query_log:${s.queryLogId}`;
    const entry = latest.get(key) ?? { label: s.question ?? "(question not logged)", link: s.runId ? `/evaluations/runs/${s.runId}` : null };
    // Rows come newest first: keep the first of each kind.
    if (s.kind === "judge" && entry.judge === undefined) entry.judge = s.score;
    if (s.kind === "human" && entry.human === undefined) entry.human = s.score;
    latest.set(key, entry);
  }
  const pairs: Array<ScorePair & { link: string | null }> = [];
  for (const [itemId, e] of latest) {
    if (e.judge !== undefined && e.human !== undefined) pairs.push({ itemId, judge: e.judge, human: e.human, label: e.label, link: e.link });
  }
  const a = computeAgreement(pairs, opts);
  const links = new Map(pairs.map((p) => [p.itemId, p.link]));
  return { ...a, mostDisagreeing: a.mostDisagreeing.map((d) => ({ ...d, link: links.get(d.itemId) ?? null })) };
}
