import { z } from "zod";
import { NAME_RE, NAME_RULE } from "@/lib/agents/service";
import { CUBBY_OPERATIONS } from "@/lib/agents/types";
import { grantCubbyOrAskApproval } from "@/lib/approvals";
import { json, route } from "@/lib/http/route";

export const dynamic = "force-dynamic";

const params = z.object({ name: z.string().regex(NAME_RE, NAME_RULE) });
const Body = z.object({
  agent: z.string().regex(NAME_RE, NAME_RULE),
  operations: z.array(z.enum(CUBBY_OPERATIONS)).min(1, "name at least one operation"),
  expiresAt: z.string().datetime({ offset: true }).nullable().optional(),
});

/** 201 with the grant; for an agent new to this cubby, 202 with the approval request it waits for. */
export const POST = route({ permission: "admin", params, body: Body }, async ({ access, params, body }) => {
  const r = await grantCubbyOrAskApproval(access, params.name, body);
  return r.kind === "grant" ? json(r.grant, { status: 201 }) : json(r.answer, { status: 202 });
});
