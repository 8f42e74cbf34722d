import { z } from "zod";
import { json, route } from "@/lib/http/route";
import { requestSourceDeletion } from "@/lib/approvals";

export const dynamic = "force-dynamic";

const params = z.object({ id: z.string().uuid("must be a source id (UUID)") });

/** Deleting a source (and its documents) waits for another admin's approval: 202 with the request. */
export const DELETE = route({ permission: "admin", params }, async ({ access, params }) => json(await requestSourceDeletion(access, params.id), { status: 202 }));
