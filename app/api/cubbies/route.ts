import { z } from "zod";
import { NAME_RE, NAME_RULE } from "@/lib/agents/service";
import { createCubby, listCubbies } from "@/lib/cubbies/service";
import { json, route } from "@/lib/http/route";

export const dynamic = "force-dynamic";

const Body = z.object({
  name: z.string().regex(NAME_RE, NAME_RULE),
  allowedAgents: z.array(z.string().regex(NAME_RE, NAME_RULE)).max(100).default([]),
});

/** The cubbies the calling agent reaches now. */
export const GET = route({ permission: "agent" }, async ({ access }) => ({ cubbies: await listCubbies(access) }));

export const POST = route({ permission: "agent", body: Body, maxBodyBytes: 20_000 }, async ({ access, body }) =>
  json(await createCubby(access, body), { status: 201 }),
);
