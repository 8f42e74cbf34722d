import { json, route } from "@/lib/http/route";
import { createDataset, listDatasets } from "@/lib/evaluate/datasets";
import { createDatasetBody } from "@/lib/evaluate/schemas";

export const dynamic = "force-dynamic";

export const GET = route({ permission: "score" }, async ({ db }) => ({ datasets: await listDatasets(db) }));

/** { name, description?, items?: [{ question, referenceAnswer?, expectedSources? }] } → version 1. */
export const POST = route({ permission: "score", body: createDatasetBody, maxBodyBytes: 6_000_000 }, async ({ db, body, principal }) =>
  json(await createDataset(db, { ...body, items: body.items ?? [] }, principal.userId), { status: 201 }),
);
