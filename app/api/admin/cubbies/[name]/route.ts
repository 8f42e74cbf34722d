import { z } from "zod";
import { NAME_RE, NAME_RULE } from "@/lib/agents/service";
import { cubbyKeyActionOrAskApproval } from "@/lib/approvals";
import { json, route } from "@/lib/http/route";

export const dynamic = "force-dynamic";

const params = z.object({ name: z.string().regex(NAME_RE, NAME_RULE) });
const Body = z.object({ action: z.enum(["rotate", "rewrap", "retire", "shred"]) });

/**
 * The cubby key's lifecycle: rotate, retire old versions (200); rewrap starts a background job (202, its
 * progress in `rewrap` and on GET /api/admin/cubbies); shred waits for another admin's approval (202).
 */
export const POST = route({ permission: "admin", params, body: Body }, async ({ access, params, body }) => {
  const r = await cubbyKeyActionOrAskApproval(access, params.name, body.action);
  return json(r, { status: "approval" in r || ("rewrap" in r && r.rewrap) ? 202 : 200 });
});
