import { json, route } from "@/lib/http/route";
import { createSchedule, createScheduleBody, listSchedules } from "@/lib/schedules";

export const dynamic = "force-dynamic";

/** Every schedule with its target summary, the user it runs as, enabled, next and last run. */
export const GET = route({ permission: "admin" }, async ({ access }) => ({ schedules: await listSchedules(access) }));

/**
 * Creates a schedule: { name, target: { kind, config }, intervalMinutes | cron (+ timeZone), runAsUserId?
 * (default: the caller), maxConcurrent?, timeoutMinutes?, enabled? }.
 */
export const POST = route({ permission: "admin", body: createScheduleBody }, async ({ access, body }) =>
  json(await createSchedule(access, body), { status: 201 }),
);
