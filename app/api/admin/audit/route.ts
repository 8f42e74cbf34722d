import { z } from "zod";
import { listAudit } from "@/lib/audit";
import { route } from "@/lib/http/route";

export const dynamic = "force-dynamic";

const Query = z.object({
  action: z.string().max(100).optional(),
  actor: z.string().max(320).optional(),
  target: z.string().max(200).optional(),
  before: z.coerce.date().optional(),
  limit: z.coerce.number().int().min(1).max(500).optional(),
});

/** Admin actions, newest first; page with `before` = the previous page's `nextBefore`. */
export const GET = route({ permission: "admin", query: Query }, async ({ access, query }) => listAudit(access, query));
