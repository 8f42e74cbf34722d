import { z } from "zod";
import { NAME_RE, NAME_RULE } from "@/lib/agents/service";
import { adminKeyAction } from "@/lib/cubbies/admin";
import { route } from "@/lib/http/route";

export const dynamic = "force-dynamic";

const params = z.object({ name: z.string().regex(NAME_RE, NAME_RULE) });
const Body = z.object({ action: z.enum(["rotate", "rewrap", "retire", "shred"]) });

/** The cubby key's lifecycle: rotate, rewrap, retire old versions, shred. */
export const POST = route({ permission: "admin", params, body: Body }, async ({ access, params, body }) => adminKeyAction(access, params.name, body.action));
