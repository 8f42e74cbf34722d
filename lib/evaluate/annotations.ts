// Human evaluators: the annotation queue (one answer at a time), human scores, and judge-vs-human agreement.
// The queue does not show the judge's score, so a person's score is their own and the agreement figures
// measure something.
import { z } from "zod";
import type { Db } from "../db/client";
import { NotFoundError, ValidationError } from "../errors";
import { computeAgreement, type ScorePair } from "./agreement";

export const TARGET_KINDS = ["run_item", "external_output", "query_log"] as const;
export type TargetKind = (typeof TARGET_KINDS)[number];

export const humanScoreInput = z.object({
  targetKind: z.enum(TARGET_KINDS),
  targetId: z.string().uuid(),
  hallucinationScore: z.number().int("must be a whole number 1–5").min(1).max(5),
  comment: z.string().trim().max(4000).optional(),
});

export interface QueueItem {
  targetKind: TargetKind;
  targetId: string;
  question: string;
  answer: string;
  passages: Array<{ title: string | null; url: string | null; text: string }>;
  referenceAnswer: string | null;
  createdAt: Date;
  /** Items still waiting for a human score (including this one), for the "n left" figure. */
  remaining: number;
}

const targetColumn = { run_item: "runItemId", external_output: "externalOutputId", query_log: "queryLogId" } as const;

/** The next answer for this evaluator: newest first, not yet scored by a person, not skipped by them. */
export async function nextQueueItem(db: Db, userId: string): Promise<QueueItem | null> {
  const skips = await db.prisma.annotationSkip.findMany({ where: { userId }, select: { targetKind: true, targetId: true } });
  const skipped = (kind: TargetKind) => skips.filter((s) => s.targetKind === kind).map((s) => s.targetId);
  const noHuman = { scores: { none: { kind: "human" } } };

  const runWhere = { status: "ok", answer: { not: null }, id: { notIn: skipped("run_item") }, ...noHuman };
  const extWhere = { id: { notIn: skipped("external_output") }, ...noHuman };
  const logWhere = { answer: { not: null }, question: { not: null }, id: { notIn: skipped("query_log") }, ...noHuman };
  const [run, ext, qlog, nRun, nExt, nLog] = await Promise.all([
    db.prisma.runItem.findFirst({ where: runWhere, orderBy: [{ createdAt: "desc" }, { position: "asc" }] }),
    db.prisma.externalOutput.findFirst({ where: extWhere, orderBy: { createdAt: "desc" } }),
    db.prisma.queryLog.findFirst({ where: logWhere, orderBy: { createdAt: "desc" } }),
    db.prisma.runItem.count({ where: runWhere }),
    db.prisma.externalOutput.count({ where: extWhere }),
    db.prisma.queryLog.count({ where: logWhere }),
  ]);
  const remaining = nRun + nExt + nLog;
  const candidates: QueueItem[] = [];
  if (run) {
    const sources = (run.sources as Array<{ title?: string | null; url?: string | null; text?: string }>) ?? [];
    candidates.push({
      targetKind: "run_item",
      targetId: run.id,
      question: run.question,
      answer: run.answer!,
      passages: sources.map((s) => ({ title: s.title ?? null, url: s.url ?? null, text: s.text ?? "" })),
      referenceAnswer: run.referenceAnswer,
      createdAt: run.createdAt,
      remaining,
    });
  }
  if (ext) {
    const passages = (ext.passages as Array<{ title?: string | null; url?: string | null; text?: string }>) ?? [];
    candidates.push({
      targetKind: "external_output",
      targetId: ext.id,
      question: ext.question,
      answer: ext.output,
      passages: passages.map((p) => ({ title: p.title ?? null, url: p.url ?? null, text: p.text ?? "" })),
      referenceAnswer: ext.referenceAnswer,
      createdAt: ext.createdAt,
      remaining,
    });
  }
  if (qlog) {
    candidates.push({
      targetKind: "query_log",
      targetId: qlog.id,
      question: qlog.question!,
      answer: qlog.answer!,
      passages: await queryLogPassages(db, qlog.retrieved),
      referenceAnswer: null,
      createdAt: qlog.createdAt,
      remaining,
    });
  }
  candidates.sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime());
  return candidates[0] ?? null;
}

async function queryLogPassages(db: Db, retrieved: unknown) {
  const ids = (Array.isArray(retrieved) ? retrieved : [])
    .map((r) => (r as { chunkId?: string }).chunkId)
    .filter((id): id is string => typeof id === "string")
    .slice(0, 10);
  if (ids.length === 0) return [];
  const chunks = await db.prisma.chunk.findMany({ where: { id: { in: ids } }, include: { document: { select: { title: true, url: true } } } });
  const byId = new Map(chunks.map((c) => [c.id, c]));
  return ids.flatMap((id) => {
    const c = byId.get(id);
    return c ? [{ title: c.document.title, url: c.document.url, text: c.text }] : [];
  });
}

async function assertTarget(db: Db, kind: TargetKind, id: string) {
  const found =
    kind === "run_item"
      ? await db.prisma.runItem.findUnique({ where: { id }, select: { id: true, status: true } })
      : kind === "external_output"
        ? await db.prisma.externalOutput.findUnique({ where: { id }, select: { id: true } })
        : await db.prisma.queryLog.findUnique({ where: { id }, select: { id: true } });
  if (!found) throw new NotFoundError(`The ${kind.replace("_", " ")} ${id}`);
  if (kind === "run_item" && (found as unknown as { status: string }).status !== "ok") {
    throw new ValidationError("This run item has no answer to score.");
  }
}

export async function submitHumanScore(db: Db, input: z.infer<typeof humanScoreInput>, userId: string) {
  await assertTarget(db, input.targetKind, input.targetId);
  return db.prisma.$transaction(async (tx) => {
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

export async function skipQueueItem(db: Db, userId: string, targetKind: TargetKind, targetId: string) {
  await assertTarget(db, targetKind, targetId);
  await db.prisma.annotationSkip.upsert({
    where: { userId_targetKind_targetId: { userId, targetKind, targetId } },
    create: { userId, targetKind, targetId },
    update: {},
  });
}

/** Agreement over answers that have both a human score and an ok judge score (the latest of each). */
export async function agreementFigures(db: Db, opts: { top?: number } = {}) {
  const scores = await db.prisma.score.findMany({
    where: {
      status: "ok",
      OR: [{ runItemId: { not: null } }, { externalOutputId: { not: null } }, { queryLogId: { not: null } }],
    },
    orderBy: { createdAt: "desc" },
    select: {
      kind: true,
      hallucinationScore: true,
      runItemId: true,
      externalOutputId: true,
      queryLogId: true,
      runItem: { select: { question: true, runId: true } },
      externalOutput: { select: { question: true } },
      queryLog: { select: { question: true } },
    },
  });
  const latest = new Map<string, { judge?: number; human?: number; label: string; link: string | null }>();
  for (const s of scores) {
    const key = s.runItemId ? `run_item:${s.runItemId}` : s.externalOutputId ? `external_output:${s.externalOutputId}` : `query_log:${s.queryLogId}`;
    const entry = latest.get(key) ?? {
      label: s.runItem?.question ?? s.externalOutput?.question ?? s.queryLog?.question ?? "(question not logged)",
      link: s.runItem ? `/evaluations/runs/${s.runItem.runId}` : null,
    };
    // Rows come newest first: keep the first of each kind.
    if (s.kind === "judge" && entry.judge === undefined) entry.judge = s.hallucinationScore!;
    if (s.kind === "human" && entry.human === undefined) entry.human = s.hallucinationScore!;
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
