import { z } from "zod";
import { route } from "@/lib/http/route";
import { resumeScheduleRun } from "@/lib/schedules";
import { runLimitsSchema } from "@/lib/usage/types";

export const dynamic = "force-dynamic";

const params = z.object({
  id: z.string().uuid({ message: "must be a schedule id (UUID)" }),
  runId: z.string().uuid({ message: "must be a schedule run id (UUID)" }),
});

/**
 * Resumes a run that stopped at a limit (the evaluation run or import it started goes on): 409 unless it
 * is stopped. The body may set new limits; by default the schedule's current ones apply.
 */
export const POST = route({ permission: "admin", params, body: runLimitsSchema.default({}), maxBodyBytes: 2_000 }, ({ access, params, body }) =>
  resumeScheduleRun(access, params.id, params.runId, body),
);
