import { z } from "zod";
import { adminCreateCollection, listCollectionsWithAccess } from "@/lib/access/admin";
import { json, route } from "@/lib/http/route";

export const dynamic = "force-dynamic";

const Body = z.object({
  slug: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, { message: "must be lowercase letters, digits and dashes (max 63)" }),
  name: z.string().trim().min(1).max(200),
  description: z.string().max(2000).optional(),
  restricted: z.boolean().optional(),
});

/** Every collection with its access list (restricted flag and members). */
export const GET = route({ permission: "admin" }, async ({ access }) => ({ collections: await listCollectionsWithAccess(access) }));

export const POST = route({ permission: "admin", body: Body, maxBodyBytes: 10_000 }, async ({ access, body }) =>
  json(await adminCreateCollection(access, body), { status: 201 }),
);
