import { z } from "zod";
import { getConfig } from "@/lib/config";
import { route } from "@/lib/http/route";
import { runTrend } from "@/lib/evaluate/runs";

export const dynamic = "force-dynamic";

/** Average hallucination score per completed run the caller may see, oldest first, with the target. */
export const GET = route(
  { permission: "score", query: z.object({ datasetId: z.string().uuid().optional() }) },
  async ({ access, query }) => ({ target: getConfig().EVAL_ALERT_THRESHOLD, runs: await runTrend(access, query) }),
);
