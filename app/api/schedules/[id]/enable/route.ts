import { z } from "zod";
import { route } from "@/lib/http/route";
import { setScheduleEnabled } from "@/lib/schedules";

export const dynamic = "force-dynamic";

const params = z.object({ id: z.string().uuid({ message: "must be a schedule id (UUID)" }) });

export const POST = route({ permission: "admin", params }, ({ access, params }) => setScheduleEnabled(access, params.id, true));
