import { z } from "zod";
import { route } from "@/lib/http/route";
import { getImportJob } from "@/lib/ingest";

export const dynamic = "force-dynamic";

/** An import job's progress: found / done / failed / unchanged / removed, phase, and failed pages with errors. */
export const GET = route({ permission: "import", params: z.object({ id: z.string().uuid() }) }, async ({ params, access }) => ({
  job: await getImportJob(access, params.id),
}));
