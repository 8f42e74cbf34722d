import { z } from "zod";
import { route } from "@/lib/http/route";
import { getBackup } from "@/lib/backup";

export const dynamic = "force-dynamic";

/** One backup's status and progress (polled by the Admin page). */
export const GET = route(
  { permission: "admin", params: z.object({ id: z.string().uuid({ message: "must be a backup id (UUID)" }) }) },
  ({ access, params }) => getBackup(access, params.id),
);
