import { z } from "zod";
import { adminUpdateCollection } from "@/lib/access/admin";
import { requestCollectionDeletion } from "@/lib/approvals";
import { json, route } from "@/lib/http/route";

export const dynamic = "force-dynamic";

const params = z.object({ id: z.string().uuid({ message: "must be a collection id (UUID)" }) });
const Body = z
  .object({ name: z.string().trim().min(1).max(200).optional(), description: z.string().max(2000).optional(), restricted: z.boolean().optional() })
  .strict()
  .refine((b) => Object.keys(b).length > 0, { message: "give at least one of name, description, restricted" });

/** restricted=true: only members (and admins) see the collection anywhere. */
export const PATCH = route({ permission: "admin", params, body: Body, maxBodyBytes: 10_000 }, async ({ access, params, body }) =>
  adminUpdateCollection(access, params.id, body),
);

/** Deleting a collection (with its sources and documents) waits for another admin's approval: 202 with the request. */
export const DELETE = route({ permission: "admin", params }, async ({ access, params }) => json(await requestCollectionDeletion(access, params.id), { status: 202 }));
