import { z } from "zod";
import { revokeToken } from "@/lib/agents/service";
import { route } from "@/lib/http/route";

export const dynamic = "force-dynamic";

const params = z.object({ id: z.string().uuid({ message: "must be an agent token id (UUID)" }) });

/** Revokes a token and every token delegated from it; their next call is refused. */
export const DELETE = route({ permission: "admin", params }, async ({ access, params }) => revokeToken(access, params.id));
