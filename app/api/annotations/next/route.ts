import { route } from "@/lib/http/route";
import { ForbiddenError } from "@/lib/errors";
import { nextQueueItem } from "@/lib/evaluate/annotations";

export const dynamic = "force-dynamic";

/** The next answer waiting for this evaluator's score, or { item: null }. */
export const GET = route({ permission: "score" }, async ({ db, principal }) => {
  if (!principal.userId) throw new ForbiddenError("The annotation queue is for signed-in evaluators.");
  return { item: await nextQueueItem(db, principal.userId) };
});
