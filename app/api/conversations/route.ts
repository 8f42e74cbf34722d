// GET /api/conversations — the caller's conversations, newest first. POST — start one.
import { z } from "zod";
import { createConversation, listConversations } from "@/lib/answer";
import { route } from "@/lib/http/route";

export const dynamic = "force-dynamic";

export const GET = route({ permission: "ask" }, async ({ access }) => ({ conversations: await listConversations(access) }));

export const POST = route(
  {
    permission: "ask",
    body: z.object({
      title: z.string().trim().min(1, "title must not be empty").max(120),
      collections: z.array(z.string().uuid()).max(100).optional(),
    }),
  },
  ({ access, body }) => createConversation(access, body),
);
