import { json, route } from "@/lib/http/route";
import { createDataset, listDatasets } from "@/lib/evaluate/datasets";
import { createDatasetBody } from "@/lib/evaluate/schemas";

export const dynamic = "force-dynamic";

/** The datasets the caller may see (every collection of theirs readable), and how many others exist. */
export const GET = route({ permission: "score" }, ({ access }) => listDatasets(access));

/** { name, description?, items?: [{ question, referenceAnswer?, expectedSources? }], collectionIds? } → version 1, owned by the caller. */
export const POST = route({ permission: "score", body: createDatasetBody, maxBodyBytes: 6_000_000 }, async ({ access, body }) =>
  json(await createDataset(access, body), { status: 201 }),
);
