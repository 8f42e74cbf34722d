import { z } from "zod";
import { json, route } from "@/lib/http/route";
import { runScheduleNow } from "@/lib/schedules";
import { audit } from "@/lib/audit";

export const dynamic = "force-dynamic";

const params = z.object({ id: z.string().uuid({ message: "must be a schedule id (UUID)" }) });

/** Starts a run now (same limits and history as scheduled runs): 202 with the run, 409 when a limit is reached. */
export const POST = route({ permission: "admin", params }, async ({ db, params, principal, requestId }) => {
  const run = await runScheduleNow(db, params.id);
  await audit(db, principal, "schedule.run_now", `schedule:${params.id}`, { runId: run.id }, { requestId });
  return json({ run }, { status: 202 });
});
