import { route } from "@/lib/http/route";
import { getRunDetail } from "@/lib/evaluate/runs";
import { idParams } from "@/lib/evaluate/schemas";

export const dynamic = "force-dynamic";

/** The run, its items (answer, sources, retrieval hit, scores, latency, tokens, errors) and regressions vs its baseline. */
export const GET = route({ permission: "score", params: idParams }, async ({ db, params }) => getRunDetail(db, params.id));
