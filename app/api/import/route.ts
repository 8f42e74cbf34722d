import { z } from "zod";
import { json, route } from "@/lib/http/route";
import { startImport } from "@/lib/ingest";

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
  async ({ body, access }) => json({ job: await startImport(access, body) }, { status: 202 }),
);
