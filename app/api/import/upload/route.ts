import { z } from "zod";
import { getConfig } from "@/lib/config";
import { readMultipartFiles } from "@/lib/http/multipart";
import { route } from "@/lib/http/route";
import { MAX_FILES_PER_UPLOAD, uploadFiles } from "@/lib/ingest";

export const dynamic = "force-dynamic";

/**
 * Uploads files (multipart/form-data, fields named "file") into a collection: md, txt, html, pdf, docx,
 * json. All files are checked first; any bad file → 4xx naming it and the reason, and nothing is stored.
 * The body is read as a stream, one file at a time (lib/http/multipart.ts), never whole.
 */
export const POST = route(
  { permission: "import", query: z.object({ collectionId: z.string().uuid() }).strict() },
  async ({ query, access, request }) => {
    const maxFileBytes = getConfig().INGEST_UPLOAD_MAX_BYTES;
    // The whole request may carry several files at the per-file limit, plus multipart overhead.
    const parts = readMultipartFiles(request, { maxBodyBytes: maxFileBytes * 4 + 1_000_000, maxFileBytes, maxParts: MAX_FILES_PER_UPLOAD * 2, fileFields: ["file"] });
    const files = (async function* () {
      for await (const part of parts) {
        if (part.field !== "file") continue;
        yield { name: part.filename, bytes: part.bytes };
      }
    })();
    return uploadFiles(access, { collectionId: query.collectionId, files });
  },
);
