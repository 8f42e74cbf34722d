import { z } from "zod";
import { NAME_RE, NAME_RULE } from "@/lib/agents/service";
import { revokeAccess } from "@/lib/cubbies/service";
import { route } from "@/lib/http/route";

export const dynamic = "force-dynamic";

const params = z.object({ name: z.string().regex(NAME_RE, NAME_RULE), agent: z.string().regex(NAME_RE, NAME_RULE) });

/** Revokes the agent's grants on the cubby: its very next call is refused. */
export const DELETE = route({ permission: "agent", params }, async ({ access, params }) => revokeAccess(access, { cubby: params.name, agent: params.agent }));
