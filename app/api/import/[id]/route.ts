import { z } from "zod";
import { assertCollectionReadable } from "@/lib/auth/access";
import { route } from "@/lib/http/route";
import { getImportJob } from "@/lib/ingest";

export const dynamic = "force-dynamic";

/** An import job's progress: found / done / failed / unchanged / removed, phase, and failed pages with errors. */
export const GET = route({ permission: "import", params: z.object({ id: z.string().uuid() }) }, async ({ db, params, principal }) => {
  const job = await getImportJob(params.id, db);
  const source = await db.prisma.source.findUniqueOrThrow({ where: { id: job.sourceId } });
  await assertCollectionReadable(db, principal, source.collectionId);
  return { job };
});
