import { z } from "zod";
import { NAME_RE, NAME_RULE } from "@/lib/agents/service";
import { listItems } from "@/lib/cubbies/service";
import { route } from "@/lib/http/route";

export const dynamic = "force-dynamic";

const params = z.object({ name: z.string().regex(NAME_RE, NAME_RULE) });

/** The cubby's keys, versions and sizes (no values). */
export const GET = route({ permission: "agent", params }, async ({ access, params }) => ({ items: await listItems(access, params.name) }));
