import { z } from "zod";
import { route } from "@/lib/http/route";
import { insightFigures, MAX_DAYS } from "@/lib/insights/figures";

export const dynamic = "force-dynamic";

const query = z.object({ days: z.coerce.number().int().min(1).max(MAX_DAYS).default(7) });

/** The Insights figures over the last `days` days, over what the caller may read. */
export const GET = route({ permission: "score", query }, ({ access, query }) => insightFigures(access, { days: query.days }));
