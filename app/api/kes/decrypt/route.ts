import { z } from "zod";
import { NAME_RE, NAME_RULE } from "@/lib/agents/service";
import { agentDecrypt } from "@/lib/kes/agent-api";
import { route } from "@/lib/http/route";

export const dynamic = "force-dynamic";

const Body = z.object({
  blob: z.string().min(1).max(800_000),
  agentId: z.string().regex(NAME_RE, NAME_RULE).optional(),
});

/** Decrypts a blob from /api/kes/encrypt for an allowed reader that holds "decrypt" on the key now. */
export const POST = route({ permission: "agent", body: Body, maxBodyBytes: 900_000 }, async ({ access, body }) => {
  const { plaintext, readers } = await agentDecrypt(access, body);
  return { plaintext: plaintext.toString("base64"), readers };
});
