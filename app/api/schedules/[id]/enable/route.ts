import { z } from "zod";
import { route } from "@/lib/http/route";
import { setScheduleEnabled } from "@/lib/schedules";
import { audit } from "@/lib/audit";

export const dynamic = "force-dynamic";

const params = z.object({ id: z.string().uuid({ message: "must be a schedule id (UUID)" }) });

export const POST = route({ permission: "admin", params }, async ({ db, params, principal, requestId }) => {
  const schedule = await setScheduleEnabled(db, params.id, true);
  await audit(db, principal, "schedule.enable", `schedule:${params.id}`, {}, { requestId });
  return schedule;
});
