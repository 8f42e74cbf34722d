import { z } from "zod";
import { json, route } from "@/lib/http/route";
import { getEvaluationRun, listRuns, startEvaluationRun } from "@/lib/evaluate/runs";
import { startRunBody } from "@/lib/evaluate/schemas";

export const dynamic = "force-dynamic";

export const GET = route(
  { permission: "score", query: z.object({ datasetId: z.string().uuid().optional(), limit: z.coerce.number().int().min(1).max(500).optional() }) },
  async ({ db, query }) => ({ runs: await listRuns(db, query) }),
);

/** { datasetId, version?, baselineRunId? } → 202 with the queued run. */
export const POST = route({ permission: "score", body: startRunBody }, async ({ db, body, principal, request }) => {
  const trigger = request.headers.get("authorization") ? "api" : "manual";
  const { id } = await startEvaluationRun({ ...body, trigger, createdById: principal.userId }, { db });
  return json(await getEvaluationRun(id, db), { status: 202 });
});
