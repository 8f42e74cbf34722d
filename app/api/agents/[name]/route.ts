import { z } from "zod";
import { NAME_RE, NAME_RULE, setAgentDisabled } from "@/lib/agents/service";
import { route } from "@/lib/http/route";

export const dynamic = "force-dynamic";

const params = z.object({ name: z.string().regex(NAME_RE, NAME_RULE) });
const Body = z.object({ disabled: z.boolean() });

/** Disables (or enables) an agent: its credential and every token it holds or delegated stop at once. */
export const PATCH = route({ permission: "admin", params, body: Body }, async ({ access, params, body }) =>
  setAgentDisabled(access, params.name, body.disabled),
);
