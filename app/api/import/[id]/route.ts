import { z } from "zod";
import { assertReadable } from "@/lib/access/context";
import { route } from "@/lib/http/route";
import { getImportJob } from "@/lib/ingest";

export const dynamic = "force-dynamic";

/** An import job's progress: found / done / failed / unchanged / removed, phase, and failed pages with errors. */
export const GET = route({ permission: "import", params: z.object({ id: z.string().uuid() }) }, async ({ db, params, access }) => {
  const job = await getImportJob(params.id, db);
  const source = await db.prisma.source.findUniqueOrThrow({ where: { id: job.sourceId } });
  assertReadable(access, source.collectionId);
  return { job };
});
