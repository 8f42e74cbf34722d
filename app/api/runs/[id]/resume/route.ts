import { route } from "@/lib/http/route";
import { resumeEvaluationRun } from "@/lib/evaluate";
import { idParams } from "@/lib/evaluate/schemas";
import { runLimitsSchema } from "@/lib/usage/types";

export const dynamic = "force-dynamic";

/** Resumes a run that stopped at a limit (409 unless it is stopped); the body may set new limits. */
export const POST = route({ permission: "score", params: idParams, body: runLimitsSchema.default({}), maxBodyBytes: 2_000 }, ({ access, params, body }) =>
  resumeEvaluationRun(access, params.id, body),
);
