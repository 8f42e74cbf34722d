// DELETE /api/keys/{id} — revokes one of the caller's own keys: the next request with it gets 401.
import { z } from "zod";
import { revokeOwnKey } from "@/lib/connect/keys";
import { route } from "@/lib/http/route";

export const dynamic = "force-dynamic";

const params = z.object({ id: z.string().uuid({ message: "must be an API key id (UUID)" }) });

export const DELETE = route({ permission: "ask", params }, ({ access, params }) => revokeOwnKey(access, params.id));
