import { z } from "zod";
import { json, route } from "@/lib/http/route";
import { runScheduleNow } from "@/lib/schedules";

export const dynamic = "force-dynamic";

const params = z.object({ id: z.string().uuid({ message: "must be a schedule id (UUID)" }) });

/** Starts a run now, as the schedule's user (same limits and history as scheduled runs): 202 with the run, 409 when a limit is reached. */
export const POST = route({ permission: "admin", params }, async ({ access, params }) => json({ run: await runScheduleNow(access, params.id) }, { status: 202 }));
