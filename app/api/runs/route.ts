import { z } from "zod";
import { json, route } from "@/lib/http/route";
import { startEvaluationRunOrAskApproval } from "@/lib/approvals";
import { listRuns } from "@/lib/evaluate/runs";
import { startRunBody } from "@/lib/evaluate/schemas";

export const dynamic = "force-dynamic";

/** The runs the caller may see, newest first, and how many others exist (`hidden`). */
export const GET = route(
  { permission: "score", query: z.object({ datasetId: z.string().uuid().optional(), limit: z.coerce.number().int().min(1).max(500).optional() }) },
  ({ access, query }) => listRuns(access, query),
);

/**
 * { datasetId, version?, baselineRunId? } → 202 with the queued run, which asks with the caller's access; or,
 * over APPROVAL_RUN_ITEMS items, 202 with `{ status: "waiting_for_approval", approval }` and no run yet.
 */
export const POST = route({ permission: "score", body: startRunBody }, async ({ access, body }) => {
  const started = await startEvaluationRunOrAskApproval(access, body);
  return json(started.kind === "run" ? started.run : started.answer, { status: 202 });
});
