import { z } from "zod";
import { json, route } from "@/lib/http/route";
import { addQueryLogToDataset } from "@/lib/evaluate/datasets";
import { idParams } from "@/lib/evaluate/schemas";

export const dynamic = "force-dynamic";

/** { queryLogId } → appends that logged question as a new version. */
export const POST = route(
  { permission: "score", params: idParams, body: z.object({ queryLogId: z.string().uuid() }).strict() },
  async ({ db, params, body, principal }) => json(await addQueryLogToDataset(db, params.id, body.queryLogId, principal.userId), { status: 201 }),
);
