import { z } from "zod";
import { json, route } from "@/lib/http/route";
import { createSchedule, createScheduleBody, listSchedules } from "@/lib/schedules";
import { audit } from "@/lib/audit";

export const dynamic = "force-dynamic";

/** Every schedule with its target summary, enabled, next and last run. */
export const GET = route({ permission: "admin" }, async ({ db }) => ({ schedules: await listSchedules(db) }));

/** Creates a schedule: { name, target: { kind, config }, interval_minutes | cron (+ time_zone), max_concurrent?, timeout_minutes?, enabled? }. */
export const POST = route({ permission: "admin", body: createScheduleBody as z.ZodType<z.input<typeof createScheduleBody>> }, async ({ db, body, principal, requestId }) => {
  const created = await createSchedule(db, body);
  await audit(db, principal, "schedule.create", `schedule:${created.id}`, { name: created.name, target: created.target.kind }, { requestId });
  return json(created, { status: 201 });
});
