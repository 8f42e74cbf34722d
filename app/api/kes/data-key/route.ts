import { z } from "zod";
import { agentDataKey } from "@/lib/kes/agent-api";
import { KEY_NAME_RE } from "@/lib/kes/service";
import { route } from "@/lib/http/route";

export const dynamic = "force-dynamic";

const Body = z.object({
  keyId: z.string().regex(KEY_NAME_RE, "must be a KES key name"),
  context: z.record(z.string().min(1).max(100), z.string().max(500)).optional(),
});

/** A fresh data key (base64 plaintext + wrapped) for the calling agent; it needs "generate" on the key. */
export const POST = route({ permission: "agent", body: Body }, async ({ access, body }) => agentDataKey(access, body));
