import { z } from "zod";
import { assertWritable } from "@/lib/access/context";
import { NotFoundError } from "@/lib/errors";
import { json, route } from "@/lib/http/route";
import { getImportJob, startNotionImport, startReconcile } from "@/lib/ingest";
import { audit } from "@/lib/audit";

export const dynamic = "force-dynamic";

const notionId = z.string().regex(/^[0-9a-fA-F-]{32,36}$/, "must be a Notion id (32 hexadecimal digits, dashes optional)");

/**
 * Starts an import of a source (202 with the job). Notion: a full sync of the source (kind "full"), or a
 * partial import of `pageIds` / `dataSourceIds` (kind "partial": adds and updates, never removes). S3: a
 * sync of the bucket prefixes. 409 while another full sync of the source is running.
 */
export const POST = route(
  {
    permission: "import",
    body: z
      .object({
        sourceId: z.string().uuid(),
        pageIds: z.array(notionId).max(500).optional(),
        dataSourceIds: z.array(notionId).max(100).optional(),
      })
      .strict(),
  },
  async ({ db, body, principal, access, requestId }) => {
    const source = await db.prisma.source.findUnique({ where: { id: body.sourceId } });
    if (!source) throw new NotFoundError("Source");
    assertWritable(access, source.collectionId);
    const job =
      source.kind === "notion"
        ? await startNotionImport(db, { sourceId: source.id, pageIds: body.pageIds, dataSourceIds: body.dataSourceIds, trigger: "manual" })
        : await startReconcile(db, { sourceId: source.id, trigger: "manual" });
    await audit(db, principal, "import.start", `source:${source.id}`, { jobId: job.id }, { requestId });
    return json({ job: await getImportJob(job.id, db) }, { status: 202 });
  },
);
