import { z } from "zod";
import { route } from "@/lib/http/route";
import { listApprovals } from "@/lib/approvals";

export const dynamic = "force-dynamic";

const query = z.object({
  status: z.enum(["pending", "approved", "rejected", "expired", "executing", "executed", "failed"]).optional(),
  limit: z.coerce.number().int().min(1).max(500).optional(),
});

/** Approval requests, newest first: every request for admins, the caller's own for anyone else. */
export const GET = route({ permission: "ask", query }, ({ access, query }) => listApprovals(access, query));
