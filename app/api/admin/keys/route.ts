import { z } from "zod";
import { adminCreateKey, listKeys } from "@/lib/access/admin";
import { PERMISSIONS } from "@/lib/auth/roles";
import { json, route } from "@/lib/http/route";

export const dynamic = "force-dynamic";

const Body = z
  .object({
    name: z.string().trim().min(1).max(100),
    scopes: z.array(z.enum(PERMISSIONS)).min(1).max(PERMISSIONS.length),
    collectionIds: z.array(z.string().uuid({ message: "must be a collection id (UUID)" })).max(500).optional(),
    expiresAt: z.coerce.date().optional(),
    expiresInDays: z.number().int().min(1).max(3650).optional(),
  })
  .refine((b) => !(b.expiresAt && b.expiresInDays), { message: "give expiresAt or expiresInDays, not both", path: ["expiresInDays"] });

export const GET = route({ permission: "admin" }, async ({ access }) => ({ keys: await listKeys(access) }));

/** Creates a key. The answer's `key` is the only time the secret is shown: it is stored hashed. */
export const POST = route({ permission: "admin", body: Body, maxBodyBytes: 20_000 }, async ({ access, body }) => {
  const expiresAt = body.expiresAt ?? (body.expiresInDays ? new Date(Date.now() + body.expiresInDays * 86_400_000) : null);
  const { key, record } = await adminCreateKey(access, { ...body, expiresAt });
  return json({ key, ...record }, { status: 201 });
});
