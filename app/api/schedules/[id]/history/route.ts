import { z } from "zod";
import { route } from "@/lib/http/route";
import { getScheduleHistory } from "@/lib/schedules";

export const dynamic = "force-dynamic";

const params = z.object({ id: z.string().uuid({ message: "must be a schedule id (UUID)" }) });
const query = z.object({ limit: z.coerce.number().int().min(1).max(500).default(50) }).strict();

/** The schedule's runs, newest first: status, times, error summary, what each produced. */
export const GET = route({ permission: "admin", params, query }, async ({ access, params, query }) => ({
  runs: await getScheduleHistory(access, params.id, { limit: query.limit }),
}));
