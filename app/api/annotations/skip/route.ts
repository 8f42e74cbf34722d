import { z } from "zod";
import { route } from "@/lib/http/route";
import { ForbiddenError } from "@/lib/errors";
import { skipQueueItem, TARGET_KINDS } from "@/lib/evaluate/annotations";

export const dynamic = "force-dynamic";

export const POST = route(
  { permission: "score", body: z.object({ targetKind: z.enum(TARGET_KINDS), targetId: z.string().uuid() }).strict() },
  async ({ db, body, principal }) => {
    if (!principal.userId) throw new ForbiddenError("The annotation queue is for signed-in evaluators.");
    await skipQueueItem(db, principal.userId, body.targetKind, body.targetId);
    return { ok: true };
  },
);
