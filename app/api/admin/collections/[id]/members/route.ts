import { z } from "zod";
import { adminSetMembers } from "@/lib/access/admin";
import { route } from "@/lib/http/route";

export const dynamic = "force-dynamic";

const params = z.object({ id: z.string().uuid({ message: "must be a collection id (UUID)" }) });
const Body = z.object({ userIds: z.array(z.string().uuid({ message: "must be a user id (UUID)" })).max(10_000) });

/** Replaces the member list of a collection. */
export const PUT = route({ permission: "admin", params, body: Body, maxBodyBytes: 500_000 }, async ({ access, params, body }) =>
  adminSetMembers(access, params.id, body.userIds),
);
