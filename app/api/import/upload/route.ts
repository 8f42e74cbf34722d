import { z } from "zod";
import { assertWritable } from "@/lib/access/context";
import { getConfig } from "@/lib/config";
import { UnsupportedMediaTypeError, ValidationError } from "@/lib/errors";
import { readBodyLimited, route } from "@/lib/http/route";
import { ingestUploads, MAX_FILES_PER_UPLOAD } from "@/lib/ingest";
import { audit } from "@/lib/audit";

export const dynamic = "force-dynamic";

/**
 * Uploads files (multipart/form-data, fields named "file") into a collection: md, txt, html, pdf, docx,
 * json. All files are checked first; any bad file → 4xx naming it and the reason, and nothing is stored.
 */
export const POST = route(
  { permission: "import", query: z.object({ collectionId: z.string().uuid() }).strict() },
  async ({ db, query, principal, access, request, requestId }) => {
    assertWritable(access, query.collectionId);
    const type = request.headers.get("content-type") ?? "";
    if (!/^multipart\/form-data\b/i.test(type)) throw new UnsupportedMediaTypeError(`Send files as multipart/form-data (got ${type || "no content type"}).`);
    // The whole request may carry several files at the per-file limit, plus multipart overhead.
    const limit = getConfig().INGEST_UPLOAD_MAX_BYTES * 4 + 1_000_000;
    const raw = await readBodyLimited(request, limit);
    let form: FormData;
    try {
      form = await new Response(raw as BodyInit, { headers: { "content-type": type } }).formData();
    } catch {
      throw new ValidationError("The multipart body could not be read.");
    }
    const entries = form.getAll("file");
    if (entries.length > MAX_FILES_PER_UPLOAD) throw new ValidationError(`At most ${MAX_FILES_PER_UPLOAD} files per upload.`);
    const files = await Promise.all(
      entries.map(async (e) => {
        if (typeof e === "string") throw new ValidationError('Form field "file" must be a file, not text.');
        return { name: e.name || "unnamed", bytes: new Uint8Array(await e.arrayBuffer()) };
      }),
    );
    const result = await ingestUploads(db, { collectionId: query.collectionId, files });
    await audit(db, principal, "upload", `collection:${query.collectionId}`, { files: files.map((f) => f.name) }, { requestId });
    return result;
  },
);
