import { json, route } from "@/lib/http/route";
import { ForbiddenError } from "@/lib/errors";
import { humanScoreInput, submitHumanScore } from "@/lib/evaluate/annotations";

export const dynamic = "force-dynamic";

/** A human score: { targetKind, targetId, hallucinationScore: 1–5, comment? }. */
export const POST = route({ permission: "score", body: humanScoreInput }, async ({ db, body, principal }) => {
  if (!principal.userId) throw new ForbiddenError("Human scores are given by people: sign in as an evaluator.");
  return json(await submitHumanScore(db, body, principal.userId), { status: 201 });
});
