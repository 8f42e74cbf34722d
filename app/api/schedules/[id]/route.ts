import { z } from "zod";
import { route } from "@/lib/http/route";
import { deleteSchedule, getSchedule, updateSchedule, updateScheduleBody } from "@/lib/schedules";

export const dynamic = "force-dynamic";

const params = z.object({ id: z.string().uuid({ message: "must be a schedule id (UUID)" }) });

export const GET = route({ permission: "admin", params }, ({ access, params }) => getSchedule(access, params.id));

/** Changes any fields (including runAsUserId); giving a cron replaces an interval and the other way round. */
export const PATCH = route({ permission: "admin", params, body: updateScheduleBody }, ({ access, params, body }) => updateSchedule(access, params.id, body));

/** Deletes the schedule and its run history; work already started elsewhere is not stopped. */
export const DELETE = route({ permission: "admin", params }, async ({ access, params }) => {
  await deleteSchedule(access, params.id);
  return new Response(null, { status: 204 });
});
