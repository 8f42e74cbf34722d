import { z } from "zod";
import { json, route } from "@/lib/http/route";
import { deleteSchedule, getSchedule, updateSchedule, updateScheduleBody } from "@/lib/schedules";
import { audit } from "@/lib/audit";

export const dynamic = "force-dynamic";

const params = z.object({ id: z.string().uuid({ message: "must be a schedule id (UUID)" }) });

export const GET = route({ permission: "admin", params }, async ({ db, params }) => getSchedule(db, params.id));

/** Changes any fields; giving a cron replaces an interval and the other way round. */
export const PATCH = route({ permission: "admin", params, body: updateScheduleBody }, async ({ db, params, body, principal, requestId }) => {
  const updated = await updateSchedule(db, params.id, body);
  await audit(db, principal, "schedule.update", `schedule:${params.id}`, { fields: Object.keys(body) }, { requestId });
  return updated;
});

/** Deletes the schedule and its run history; work already started elsewhere is not stopped. */
export const DELETE = route({ permission: "admin", params }, async ({ db, params, principal, requestId }) => {
  await deleteSchedule(db, params.id);
  await audit(db, principal, "schedule.delete", `schedule:${params.id}`, {}, { requestId });
  return new Response(null, { status: 204 });
});
