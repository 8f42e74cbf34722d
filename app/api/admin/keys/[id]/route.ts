import { z } from "zod";
import { adminRevokeKey } from "@/lib/access/admin";
import { route } from "@/lib/http/route";

export const dynamic = "force-dynamic";

const params = z.object({ id: z.string().uuid({ message: "must be an API key id (UUID)" }) });

/** Revokes the key: the next request with it gets 401. The record stays for the audit trail. */
export const DELETE = route({ permission: "admin", params }, async ({ access, params }) =>
  adminRevokeKey(access, params.id),
);
