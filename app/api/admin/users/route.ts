import { z } from "zod";
import { adminCreateUser, listUsers } from "@/lib/access/admin";
import { ROLES } from "@/lib/auth/roles";
import { json, route } from "@/lib/http/route";

export const dynamic = "force-dynamic";

const Body = z.object({
  email: z.string().trim().max(320),
  name: z.string().max(200).optional(),
  /** null: the person signs in through OpenID Connect only. */
  password: z.string().max(1000).nullable(),
  role: z.enum(ROLES),
});

export const GET = route({ permission: "admin" }, async ({ access }) => ({ users: await listUsers(access) }));

export const POST = route({ permission: "admin", body: Body, maxBodyBytes: 10_000 }, async ({ access, body }) =>
  json(await adminCreateUser(access, body), { status: 201 }),
);
