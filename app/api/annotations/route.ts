import { json, route } from "@/lib/http/route";
import { humanScoreInput, submitHumanScore } from "@/lib/evaluate/annotations";

export const dynamic = "force-dynamic";

/** A human score of an answer the caller may read: { targetKind, targetId, hallucinationScore: 1–5, comment? }. */
export const POST = route({ permission: "score", body: humanScoreInput }, async ({ access, body }) => json(await submitHumanScore(access, body), { status: 201 }));
