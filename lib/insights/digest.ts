// The digest: the Insights figures of the last day or week, sent as a notification (counts only; the
// uncovered questions stay on the Insights page, which the notification links to).
import type { AccessContext } from "../access/context";
import { notify, type NotificationEvent } from "../notify";
import { insightFigures } from "./figures";

export type DigestPeriod = "daily" | "weekly";

export async function digestEvent(ctx: AccessContext, period: DigestPeriod, until = new Date()): Promise<Extract<NotificationEvent, { kind: "digest" }>> {
  const f = await insightFigures(ctx, { days: period === "weekly" ? 7 : 1, until });
  return {
    kind: "digest",
    period,
    from: f.from,
    to: f.to,
    questions: f.questions,
    notCovered: f.notCovered,
    thumbsDown: f.thumbsDown,
    runs: f.runs.length,
    avgHallucination: f.avgHallucination,
    importsSucceeded: f.imports.succeeded,
    importsFailed: f.imports.failed,
    backupsSucceeded: f.backups?.succeeded ?? null,
    backupsFailed: f.backups?.failed ?? null,
    gpuSeconds: f.gpuSeconds,
  };
}

/** Computes the digest with the schedule's user's access and queues it to every target that takes digests. */
export async function sendDigest(ctx: AccessContext, period: DigestPeriod): Promise<{ deliveries: number }> {
  const ids = await notify(await digestEvent(ctx, period), { db: ctx.db });
  return { deliveries: ids.length };
}
