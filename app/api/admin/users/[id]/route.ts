import { z } from "zod";
import { adminUpdateUser } from "@/lib/access/admin";
import { ROLES } from "@/lib/auth/roles";
import { route } from "@/lib/http/route";

export const dynamic = "force-dynamic";

const params = z.object({ id: z.string().uuid({ message: "must be a user id (UUID)" }) });
const Body = z
  .object({
    role: z.enum(ROLES).optional(),
    disabled: z.boolean().optional(),
    name: z.string().max(200).optional(),
    password: z.string().max(1000).optional(),
  })
  .strict()
  .refine((b) => Object.keys(b).length > 0, { message: "give at least one of role, disabled, name, password" });

/** Changes a user's role, name or password, or disables / re-enables them (they lose access at once). */
export const PATCH = route({ permission: "admin", params, body: Body, maxBodyBytes: 10_000 }, async ({ access, params, body }) =>
  adminUpdateUser(access, params.id, body),
);
