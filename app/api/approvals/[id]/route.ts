import { z } from "zod";
import { route } from "@/lib/http/route";
import { getApproval } from "@/lib/approvals";

export const dynamic = "force-dynamic";

const params = z.object({ id: z.string().uuid("must be an approval request id (UUID)") });

/** One request with its decisions: admins any, others their own (anything else is 404). */
export const GET = route({ permission: "ask", params }, ({ access, params }) => getApproval(access, params.id));
