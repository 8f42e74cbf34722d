import { z } from "zod";
import { issueToken, listTokens, NAME_RE, NAME_RULE, TOKEN_TTL_MAX_SECONDS } from "@/lib/agents/service";
import { CUBBY_OPERATIONS } from "@/lib/agents/types";
import { json, route } from "@/lib/http/route";

export const dynamic = "force-dynamic";

const Body = z
  .object({
    agent: z.string().regex(NAME_RE, NAME_RULE).optional(),
    cubby: z.string().regex(NAME_RE, NAME_RULE).nullable().optional(),
    operations: z.array(z.enum(CUBBY_OPERATIONS)).min(1, "name at least one operation").optional(),
    ttlSeconds: z.number().int().min(1).max(TOKEN_TTL_MAX_SECONDS).optional(),
    expiresAt: z.string().datetime({ offset: true, message: "must be an ISO 8601 time with its offset" }).optional(),
    // Circuit breakers: calls made with it, and those refused or failed (null or omitted: no limit of its own).
    maxCalls: z.number({ message: "must be a whole number of calls" }).int({ message: "must be a whole number of calls" }).min(1, { message: "must be at least 1" }).max(100_000_000).nullable().optional(),
    maxFailures: z
      .number({ message: "must be a whole number of calls" })
      .int({ message: "must be a whole number of calls" })
      .min(1, { message: "must be at least 1" })
      .max(100_000_000)
      .nullable()
      .optional(),
  })
  .strict()
  .refine((b) => !(b.ttlSeconds !== undefined && b.expiresAt !== undefined), { message: "give ttlSeconds or expiresAt, not both", path: ["expiresAt"] });

/**
 * With the agent's credential: a short-lived token of its own. With a token: a token delegated from it
 * (for itself or `agent`), narrowed to a cubby and operations, never outliving it.
 */
export const POST = route({ permission: "agent", body: Body, maxBodyBytes: 10_000 }, async ({ access, body }) => {
  const { token, view } = await issueToken(access, body);
  return json({ token, ...view }, { status: 201 });
});

const Query = z.object({ agent: z.string().regex(NAME_RE, NAME_RULE).optional() });

/** Recent tokens (never the tokens themselves), for admins. */
export const GET = route({ permission: "admin", query: Query }, async ({ access, query }) => ({ tokens: await listTokens(access, { agent: query.agent }) }));
