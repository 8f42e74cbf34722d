import { z } from "zod";
import { resumeToken, TOKEN_TTL_MAX_SECONDS } from "@/lib/agents/service";
import { route } from "@/lib/http/route";

export const dynamic = "force-dynamic";

const params = z.object({ id: z.string().uuid({ message: "must be an agent token id (UUID)" }) });

const limit = (what: string) =>
  z
    .number({ message: `must be a whole number of ${what}, or null for no limit` })
    .int({ message: `must be a whole number of ${what}, or null for no limit` })
    .min(1, { message: "must be at least 1" })
    .max(100_000_000, { message: "must be at most 100000000" })
    .nullable()
    .optional();

const Body = z
  .object({
    maxCalls: limit("calls"),
    maxFailures: limit("refused or failed calls"),
    ttlSeconds: z.number({ message: "must be a whole number of seconds" }).int({ message: "must be a whole number of seconds" }).min(1).max(TOKEN_TTL_MAX_SECONDS).optional(),
  })
  .strict();

/**
 * Resumes a token stopped at a limit: counts start again from zero, with new limits and a new expiry when
 * given (a delegated token never gets more than its parent has left: 400 naming the field).
 */
export const POST = route({ permission: "admin", params, body: Body.default({}), maxBodyBytes: 2_000 }, async ({ access, params, body }) =>
  resumeToken(access, params.id, body),
);
