// The figures of the Insights page and the digest: questions asked, the share the wiki did not cover, the
// most frequent uncovered questions, thumbs down, the evaluation trend, imports and backups — over a
// range, and only over what the access context may read (counts over its collections; question text
// only from logs it may read and only where LOG_QUERY_TEXT keeps it; backups for admins).
import { requirePermission, type AccessContext } from "../access/context";
import { getConfig } from "../config";
import { ValidationError } from "../errors";
import { backupCounts, completedRuns, dailyFeedback, dailyQuestions, importCounts, uncoveredTopics, type Scope } from "./queries";
import type { InsightFigures } from "./types";

export type { InsightFigures } from "./types";

export const MAX_DAYS = 366;
const TOPICS = 10;

/**
 * GPU-seconds used in the range, once the usage ledger records them; null until then. The seam for the
 * ledger: replace the body with its sum over the range for what `ctx` may see (every figure here is
 * filtered by the context), and the digest and the Insights page show it.
 */
export async function gpuSecondsUsed(_ctx: AccessContext, _from: Date, _to: Date): Promise<number | null> {
  return null;
}

function utcDay(d: Date): string {
  return d.toISOString().slice(0, 10);
}

/** Every day of the range, so charts show days without activity as zero. */
function daysOf(from: Date, to: Date): string[] {
  const out: string[] = [];
  for (let t = Date.UTC(from.getUTCFullYear(), from.getUTCMonth(), from.getUTCDate()); t < to.getTime(); t += 86_400_000) out.push(utcDay(new Date(t)));
  return out;
}

/** The figures for the `days` days up to `until` (default now). */
export async function insightFigures(ctx: AccessContext, input: { days: number; until?: Date }): Promise<InsightFigures> {
  requirePermission(ctx, "score");
  if (!Number.isInteger(input.days) || input.days < 1 || input.days > MAX_DAYS) {
    throw new ValidationError(`days must be a whole number from 1 to ${MAX_DAYS}.`, [{ path: "days", message: `from 1 to ${MAX_DAYS}` }]);
  }
  const to = input.until ?? new Date();
  const from = new Date(to.getTime() - input.days * 86_400_000);
  const scope: Scope = { all: ctx.isAdmin, readable: ctx.readableIds };
  const sql = ctx.db.sql;
  const config = getConfig();
  const owner = { userId: ctx.principal.userId, apiKeyId: ctx.principal.kind === "api_key" ? ctx.principal.apiKeyId : null };
  const [questions, feedback, topics, runs, imports, backups, gpuSeconds] = await Promise.all([
    dailyQuestions(sql, scope, from, to),
    dailyFeedback(sql, scope, from, to),
    config.LOG_QUERY_TEXT && (ctx.isAdmin || owner.userId) ? uncoveredTopics(sql, scope, owner, from, to, TOPICS) : Promise.resolve(null),
    completedRuns(sql, scope, from, to),
    importCounts(sql, scope, from, to),
    ctx.isAdmin ? backupCounts(sql, from, to) : Promise.resolve(null),
    gpuSecondsUsed(ctx, from, to),
  ]);
  const byDay = new Map(daysOf(from, to).map((day) => [day, { day, questions: 0, notCovered: 0, thumbsDown: 0 }]));
  for (const q of questions) Object.assign(byDay.get(q.day) ?? {}, { questions: q.questions, notCovered: q.not_covered });
  for (const f of feedback) Object.assign(byDay.get(f.day) ?? {}, { thumbsDown: f.down });
  const sum = <T>(rows: T[], f: (r: T) => number) => rows.reduce((s, r) => s + f(r), 0);
  const totalQuestions = sum(questions, (q) => q.questions);
  const notCovered = sum(questions, (q) => q.not_covered);
  const scored = runs.filter((r) => r.avg_hallucination !== null);
  const statusCount = (rows: Array<{ status: string; n: number }>, status: string) => rows.find((r) => r.status === status)?.n ?? 0;
  return {
    from: from.toISOString(),
    to: to.toISOString(),
    days: input.days,
    questions: totalQuestions,
    notCovered,
    notCoveredShare: totalQuestions > 0 ? notCovered / totalQuestions : null,
    thumbsDown: sum(feedback, (f) => f.down),
    thumbsUp: sum(feedback, (f) => f.up),
    daily: [...byDay.values()],
    uncoveredTopics: topics?.map((t) => ({ question: t.question, count: t.count, lastAt: t.last_at.toISOString() })) ?? null,
    topicsScope: ctx.isAdmin ? "everyone" : "yours",
    runs: runs.map((r) => ({ id: r.id, at: r.finished_at.toISOString(), avgHallucination: r.avg_hallucination, itemCount: r.item_count, dataset: r.dataset ?? "a dataset" })),
    avgHallucination: scored.length ? sum(scored, (r) => r.avg_hallucination!) / scored.length : null,
    target: config.EVAL_ALERT_THRESHOLD,
    imports: { succeeded: statusCount(imports, "succeeded"), failed: statusCount(imports, "failed"), running: statusCount(imports, "running") + statusCount(imports, "queued") },
    backups: backups ? { succeeded: statusCount(backups, "succeeded"), failed: statusCount(backups, "failed") } : null,
    gpuSeconds,
  };
}
