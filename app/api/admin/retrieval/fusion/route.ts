import { route } from "@/lib/http/route";
import { learnCollectionFusion, learnFusionInput, listCollectionFusion, saveCollectionFusionSettings, saveFusionInput } from "@/lib/retrieve/fusion-settings";

export const dynamic = "force-dynamic";

/** Every collection's fusion weights and candidates, with what their last tuning measured. */
export const GET = route({ permission: "admin" }, async ({ access }) => ({ collections: await listCollectionFusion(access) }));

/** { collectionId, datasetId } → the configurations tried on the dataset's expected sources, the best, and a held-out figure. Saves nothing. */
export const POST = route({ permission: "admin", body: learnFusionInput, maxBodyBytes: 10_000 }, ({ access, body, request }) => learnCollectionFusion(access, body, request.signal));

/** { collectionId, vectorWeight, textWeight, candidates, tuning? } → saved; searches use them within 30 s on every process. */
export const PUT = route({ permission: "admin", body: saveFusionInput, maxBodyBytes: 20_000 }, async ({ access, body }) => ({ collection: await saveCollectionFusionSettings(access, body) }));
