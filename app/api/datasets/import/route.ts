import { json, route } from "@/lib/http/route";
import { importDataset, MAX_IMPORT_BYTES } from "@/lib/evaluate/datasets";
import { importDatasetBody } from "@/lib/evaluate/schemas";

export const dynamic = "force-dynamic";

/** { format: "jsonl"|"csv", text, name (+ collectionIds?) | datasetId, mode? } — all or nothing; 422 lists the bad lines. */
export const POST = route({ permission: "score", body: importDatasetBody, maxBodyBytes: MAX_IMPORT_BYTES + 100_000 }, async ({ access, body }) =>
  json(await importDataset(access, body), { status: 201 }),
);
