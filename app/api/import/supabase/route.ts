import { z } from "zod";
import { json, route } from "@/lib/http/route";
import { moveInFromUpload } from "@/lib/supabase-import";

export const dynamic = "force-dynamic";

/**
 * "Move in from Supabase" (admins): the body is the export itself — a plain-SQL pg_dump or a CSV —
 * streamed. `dryRun=true` answers the report and writes nothing; otherwise the rows are staged and an
 * import job is queued (202 with the report and the job; follow it at GET /api/import/<job id>).
 */
export const POST = route(
  {
    permission: "admin",
    query: z
      .object({
        collectionId: z.string().uuid("collectionId must be a collection's id"),
        fileName: z.string().min(1).max(300).default("export.sql"),
        table: z.string().regex(/^[A-Za-z_][\w$]*(\.[A-Za-z_][\w$]*)?$/, "table must be a table name, optionally schema-qualified").optional(),
        map: z.string().max(1000).optional(),
        dryRun: z.enum(["true", "false"]).default("false"),
      })
      .strict(),
  },
  async ({ query, access, request }) => {
    const report = await moveInFromUpload(access, {
      body: request.body,
      fileName: query.fileName,
      collectionId: query.collectionId,
      table: query.table,
      map: query.map,
      dryRun: query.dryRun === "true",
    });
    return report.dryRun ? report : json(report, { status: 202 });
  },
);
