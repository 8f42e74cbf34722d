import { z } from "zod";
import { createAgent, listAgents, NAME_RE, NAME_RULE } from "@/lib/agents/service";
import { json, route } from "@/lib/http/route";

export const dynamic = "force-dynamic";

const Body = z.object({
  name: z.string().regex(NAME_RE, NAME_RULE),
  description: z.string().trim().max(500).nullable().optional(),
});

export const GET = route({ permission: "admin" }, async ({ access }) => ({ agents: await listAgents(access) }));

/** Makes an agent owned by the caller. The answer's `credential` is the only time it is shown. */
export const POST = route({ permission: "admin", body: Body, maxBodyBytes: 10_000 }, async ({ access, body }) =>
  json(await createAgent(access, body), { status: 201 }),
);
