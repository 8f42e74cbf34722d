import { z } from "zod";
import { createFirstAdmin } from "@/lib/auth/users";
import { json, route } from "@/lib/http/route";

export const dynamic = "force-dynamic";

const Body = z.object({ email: z.string().max(320), name: z.string().max(200).optional(), password: z.string().max(1000) });

/** One-time: creates the first administrator while no user exists (409 afterwards). */
// Anonymous: a small bucket per client address of its own (lib/http/rate-limit.ts).
const SETUP_LIMIT = { bucket: "setup", perMinute: 5, burst: 5 };

export const POST = route({ permission: "public", body: Body, maxBodyBytes: 10_000, rateLimit: SETUP_LIMIT }, async ({ db, body, requestId }) => {
  const user = await createFirstAdmin(db, { email: body.email, name: body.name, password: body.password }, { requestId });
  return json({ id: user.id, email: user.email, role: user.role }, { status: 201 });
});
