import { z } from "zod";
import { route } from "@/lib/http/route";
import { skipQueueItem, TARGET_KINDS } from "@/lib/evaluate/annotations";

export const dynamic = "force-dynamic";

export const POST = route({ permission: "score", body: z.object({ targetKind: z.enum(TARGET_KINDS), targetId: z.string().uuid() }).strict() }, ({ access, body }) =>
  skipQueueItem(access, body),
);
