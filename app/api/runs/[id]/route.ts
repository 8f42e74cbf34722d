import { z } from "zod";
import { route } from "@/lib/http/route";
import { getRunDetail } from "@/lib/evaluate/runs";
import { idParams } from "@/lib/evaluate/schemas";

export const dynamic = "force-dynamic";

/**
 * The run, its items (answer, sources, retrieval hit, scores, latency, tokens, errors) and regressions vs its
 * baseline (or ?baseline=<run id>); 404 unless the caller may read every collection the run is bound to.
 */
export const GET = route(
  { permission: "score", params: idParams, query: z.object({ baseline: z.string().uuid().optional() }) },
  ({ access, params, query }) => getRunDetail(access, params.id, query.baseline ? { baselineRunId: query.baseline } : {}),
);
