import { z } from "zod";
import { NAME_RE, NAME_RULE } from "@/lib/agents/service";
import { CUBBY_OPERATIONS } from "@/lib/agents/types";
import { grantAccess, listGrants } from "@/lib/cubbies/service";
import { json, route } from "@/lib/http/route";

export const dynamic = "force-dynamic";

const params = z.object({ name: z.string().regex(NAME_RE, NAME_RULE) });
const Body = z.object({
  agent: z.string().regex(NAME_RE, NAME_RULE),
  operations: z.array(z.enum(CUBBY_OPERATIONS)).min(1, "name at least one operation"),
  expiresAt: z.union([z.string().datetime({ offset: true }), z.number().int().positive()]).nullable().optional(),
});

/** Every grant on the cubby (for agents that may grant). */
export const GET = route({ permission: "agent", params }, async ({ access, params }) => ({ grants: await listGrants(access, params.name) }));

/** Grants an agent operations on the cubby, at most what the caller holds, ending no later than its own grant. */
export const POST = route({ permission: "agent", params, body: Body }, async ({ access, params, body }) =>
  json(await grantAccess(access, { cubby: params.name, ...body }), { status: 201 }),
);
