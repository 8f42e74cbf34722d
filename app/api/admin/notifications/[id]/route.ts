import { z } from "zod";
import { route } from "@/lib/http/route";
import { deleteTarget, updateTarget, updateTargetBody } from "@/lib/notify";

export const dynamic = "force-dynamic";

const params = z.object({ id: z.string().uuid("must be a notification target id (UUID)") });

/** Rename, choose events, enable or disable. */
export const PATCH = route({ permission: "admin", params, body: updateTargetBody, maxBodyBytes: 10_000 }, ({ access, params, body }) =>
  updateTarget(access, params.id, body),
);

export const DELETE = route({ permission: "admin", params }, async ({ access, params }) => {
  await deleteTarget(access, params.id);
  return { ok: true };
});
