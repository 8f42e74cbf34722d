import { z } from "zod";
import { NAME_RE, NAME_RULE } from "@/lib/agents/service";
import { CUBBY_OPERATIONS } from "@/lib/agents/types";
import { adminGrant } from "@/lib/cubbies/admin";
import { json, route } from "@/lib/http/route";

export const dynamic = "force-dynamic";

const params = z.object({ name: z.string().regex(NAME_RE, NAME_RULE) });
const Body = z.object({
  agent: z.string().regex(NAME_RE, NAME_RULE),
  operations: z.array(z.enum(CUBBY_OPERATIONS)).min(1, "name at least one operation"),
  expiresAt: z.string().datetime({ offset: true }).nullable().optional(),
});

export const POST = route({ permission: "admin", params, body: Body }, async ({ access, params, body }) =>
  json(await adminGrant(access, params.name, body), { status: 201 }),
);
