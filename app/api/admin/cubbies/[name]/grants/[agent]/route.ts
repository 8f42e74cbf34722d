import { z } from "zod";
import { NAME_RE, NAME_RULE } from "@/lib/agents/service";
import { adminRevoke } from "@/lib/cubbies/admin";
import { route } from "@/lib/http/route";

export const dynamic = "force-dynamic";

const params = z.object({ name: z.string().regex(NAME_RE, NAME_RULE), agent: z.string().regex(NAME_RE, NAME_RULE) });

/** Revokes every grant of the agent on the cubby: its next call is refused. */
export const DELETE = route({ permission: "admin", params }, async ({ access, params }) => adminRevoke(access, params.name, params.agent));
