// GET /api/conversations — the caller's conversations, newest first. POST — start one.
import { z } from "zod";
import { createConversation, listConversations } from "@/lib/answer";
import { resolveCollections } from "@/lib/auth/access";
import { route } from "@/lib/http/route";

export const dynamic = "force-dynamic";

export const GET = route({ permission: "ask" }, async ({ db, principal }) => ({ conversations: await listConversations(db, principal) }));

export const POST = route(
  {
    permission: "ask",
    body: z.object({
      title: z.string().trim().min(1, "title must not be empty").max(120),
      collections: z.array(z.string().uuid()).max(100).optional(),
    }),
  },
  async ({ db, principal, body }) => {
    if (body.collections?.length) await resolveCollections(db, principal, body.collections);
    return createConversation(db, principal, body.title, body.collections ?? []);
  },
);
