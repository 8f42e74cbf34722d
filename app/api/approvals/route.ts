import { z } from "zod";
import { json, route } from "@/lib/http/route";
import { listApprovals, requestCommandApproval } from "@/lib/approvals";

export const dynamic = "force-dynamic";

const query = z.object({
  status: z.enum(["pending", "approved", "rejected", "expired", "executing", "executed", "failed"]).optional(),
  limit: z.coerce.number().int().min(1).max(500).optional(),
});

/** Approval requests, newest first: every request for admins, the caller's own for anyone else. */
export const GET = route({ permission: "ask", query }, ({ access, query }) => listApprovals(access, query));

const body = z.object({ action: z.string().min(1).max(100), args: z.record(z.string(), z.unknown()) }).strict();

/**
 * { action, args } → 201 with a pending request, for actions a command carries out (e.g. `key.rotate`
 * with { backups: true }, then `npm run keys:rotate -- --backups --approval <id>`). Admins only.
 */
export const POST = route({ permission: "admin", body, maxBodyBytes: 10_000 }, async ({ access, body }) => json(await requestCommandApproval(access, body), { status: 201 }));
