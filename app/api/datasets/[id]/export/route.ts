import { z } from "zod";
import { route } from "@/lib/http/route";
import { exportDataset } from "@/lib/evaluate/datasets";
import { idParams } from "@/lib/evaluate/schemas";

export const dynamic = "force-dynamic";

/** ?format=jsonl|csv&version=n → the file, as a download. */
export const GET = route(
  {
    permission: "score",
    params: idParams,
    query: z.object({ format: z.enum(["jsonl", "csv"]).default("jsonl"), version: z.coerce.number().int().min(1).optional() }),
  },
  async ({ access, params, query }) => {
    const file = await exportDataset(access, params.id, query.format, query.version);
    return new Response(file.body, {
      headers: { "content-type": file.contentType, "content-disposition": `attachment; filename="${file.filename}"`, "cache-control": "no-store" },
    });
  },
);
