import { z } from "zod";
import { NAME_RE, NAME_RULE } from "@/lib/agents/service";
import { agentEncrypt } from "@/lib/kes/agent-api";
import { KEY_NAME_RE } from "@/lib/kes/service";
import { route } from "@/lib/http/route";

export const dynamic = "force-dynamic";

const MAX_PLAINTEXT_BYTES = 256 * 1024;
const Body = z.object({
  keyId: z.string().regex(KEY_NAME_RE, "must be a KES key name"),
  /** base64 */
  plaintext: z.string().base64("must be base64").max(Math.ceil(MAX_PLAINTEXT_BYTES / 3) * 4, `at most ${MAX_PLAINTEXT_BYTES} bytes`),
  context: z.record(z.string().min(1).max(100), z.string().max(500)).optional(),
  allowedReaders: z.array(z.string().regex(NAME_RE, NAME_RULE)).max(50).optional(),
});

/** Envelope-encrypts with a data key KES generates for the calling agent (it needs "generate" on the key). */
export const POST = route({ permission: "agent", body: Body, maxBodyBytes: MAX_PLAINTEXT_BYTES * 2 }, async ({ access, body }) =>
  agentEncrypt(access, { ...body, plaintext: Buffer.from(body.plaintext, "base64") }),
);
