// GET /api/conversations/:id — one of the caller's conversations with its messages. DELETE — remove it.
import { z } from "zod";
import { deleteConversation, getConversation } from "@/lib/answer";
import { route } from "@/lib/http/route";

export const dynamic = "force-dynamic";
const params = z.object({ id: z.string().uuid("conversation id must be a UUID") });

export const GET = route({ permission: "ask", params }, ({ access, params }) => getConversation(access, params.id));

export const DELETE = route({ permission: "ask", params }, async ({ access, params }) => {
  await deleteConversation(access, params.id);
  return { ok: true };
});
