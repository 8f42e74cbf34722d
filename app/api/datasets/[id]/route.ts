import { z } from "zod";
import { route } from "@/lib/http/route";
import { getDataset, saveDatasetVersion, updateDatasetMeta } from "@/lib/evaluate/datasets";
import { idParams, updateDatasetBody } from "@/lib/evaluate/schemas";

export const dynamic = "force-dynamic";

/** The dataset with the items of ?version= (default: current) and its version list. */
export const GET = route(
  { permission: "score", params: idParams, query: z.object({ version: z.coerce.number().int().min(1).optional() }) },
  async ({ db, params, query }) => getDataset(db, params.id, query.version),
);

/** Renames/describes; `items` replaces the items as a new version. */
export const PATCH = route(
  { permission: "score", params: idParams, body: updateDatasetBody, maxBodyBytes: 6_000_000 },
  async ({ db, params, body, principal }) => {
    if (body.name !== undefined || body.description !== undefined) {
      await updateDatasetMeta(db, params.id, { name: body.name, description: body.description });
    }
    if (body.items) await saveDatasetVersion(db, params.id, body.items, body.note ?? "edited", principal.userId);
    return getDataset(db, params.id);
  },
);
