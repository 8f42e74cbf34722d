// GET/POST /api/keys — the caller's own API keys (the Connect page): list the active ones, create one.
// Administrators manage everyone's keys under /api/admin/keys.
import { z } from "zod";
import { PERMISSIONS } from "@/lib/auth/roles";
import { createOwnKey, listConnectKeys } from "@/lib/connect/keys";
import { json, route } from "@/lib/http/route";

export const dynamic = "force-dynamic";

const Body = z.object({
  name: z.string().trim().min(1).max(100),
  scopes: z.array(z.enum(PERMISSIONS)).min(1).max(PERMISSIONS.length),
  collectionIds: z.array(z.string().uuid({ message: "must be a collection id (UUID)" })).max(100).optional(),
  expiresInDays: z.number().int().min(1).max(3650).optional(),
});

export const GET = route({ permission: "ask" }, async ({ access }) => ({ keys: await listConnectKeys(access) }));

/** The answer's `key` is the only time the secret is shown: it is stored hashed. */
export const POST = route({ permission: "ask", body: Body, maxBodyBytes: 20_000 }, async ({ access, body }) =>
  json(await createOwnKey(access, body), { status: 201 }),
);
