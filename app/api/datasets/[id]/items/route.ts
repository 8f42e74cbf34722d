import { z } from "zod";
import { json, route } from "@/lib/http/route";
import { addQueryLogToDataset } from "@/lib/evaluate/datasets";
import { idParams } from "@/lib/evaluate/schemas";

export const dynamic = "force-dynamic";

/** { queryLogId } → appends that logged question (one the caller may read, asked within the dataset's collections) as a new version. */
export const POST = route(
  { permission: "score", params: idParams, body: z.object({ queryLogId: z.string().uuid() }).strict() },
  async ({ access, params, body }) => json(await addQueryLogToDataset(access, params.id, body.queryLogId), { status: 201 }),
);
