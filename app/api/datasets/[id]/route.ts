import { z } from "zod";
import { route } from "@/lib/http/route";
import { getDataset, updateDataset } from "@/lib/evaluate/datasets";
import { idParams, updateDatasetBody } from "@/lib/evaluate/schemas";

export const dynamic = "force-dynamic";

/** The dataset with the items of ?version= (default: current) and its version list; 404 outside the caller's collections. */
export const GET = route(
  { permission: "score", params: idParams, query: z.object({ version: z.coerce.number().int().min(1).optional() }) },
  ({ access, params, query }) => getDataset(access, params.id, query.version),
);

/** Renames, describes, rebinds (`collectionIds`); `items` replaces the items as a new version. Owner or admin only (403). */
export const PATCH = route({ permission: "score", params: idParams, body: updateDatasetBody, maxBodyBytes: 6_000_000 }, ({ access, params, body }) =>
  updateDataset(access, params.id, body),
);
