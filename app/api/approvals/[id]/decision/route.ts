import { z } from "zod";
import { route } from "@/lib/http/route";
import { decideApproval } from "@/lib/approvals";

export const dynamic = "force-dynamic";

const params = z.object({ id: z.string().uuid("must be an approval request id (UUID)") });
const body = z
  .object({
    decision: z.enum(["approve", "reject"]),
    comment: z.string().trim().min(1, "say why in a comment").max(2000),
  })
  .strict();

/** An admin other than the requester approves or rejects, with a comment; the request as it is afterwards. */
export const POST = route({ permission: "admin", params, body, maxBodyBytes: 10_000 }, ({ access, params, body }) => decideApproval(access, params.id, body));
