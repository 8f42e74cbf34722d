// Uploads into a collection: every file is converted and checked BEFORE anything is written, so one
// bad file rejects the whole request with a 4xx naming each bad file and its reason, and nothing is
// half-ingested. A file uploaded again under the same name (or path) updates the earlier version, or is
// reported unchanged; the files of one request are written in one transaction, so a crash mid-request
// leaves none of them.
// Files may arrive as a stream (the upload route reads multipart parts one at a time): each is
// converted as it arrives and its bytes let go, so only one file's bytes are in memory at once.
import { assertWritable, type AccessContext } from "../access/context";
import { auditAs } from "../audit";
import { getConfig } from "../config";
import type { Db } from "../db/client";
import { AppError, isAppError, NotFoundError, ValidationError } from "../errors";
import type { Llm } from "../llm";
import { convertLimits, convertToMarkdown, type ConvertedFile } from "./convert";
import { requestBackfill } from "./backfill";
import { ingestDocuments } from "./pipeline";
import { ensureUploadSourceRow } from "./queries";

export const MAX_FILES_PER_UPLOAD = 50;

export interface UploadedFile {
  name: string;
  bytes: Uint8Array;
}

/**
 * The collection's one "Uploads" source, created on first use. A unique index allows one per collection
 * (besides the demo wiki's), so two first uploads at once still share it.
 */
export async function ensureUploadSource(db: Db, collectionId: string): Promise<{ id: string }> {
  return (await ensureUploadSourceRow(db.sql, collectionId))!;
}

export async function ingestUploads(
  db: Db,
  input: { collectionId: string; files: Iterable<UploadedFile> | AsyncIterable<UploadedFile>; llm?: Pick<Llm, "embed" | "models"> },
) {
  const collection = await db.prisma.collection.findUnique({ where: { id: input.collectionId } });
  if (!collection) throw new NotFoundError("Collection");

  const maxBytes = getConfig().INGEST_UPLOAD_MAX_BYTES;
  const limits = convertLimits();
  const converted: Array<ConvertedFile & { name: string }> = [];
  const problems: Array<{ error: AppError; file: string }> = [];
  const names = new Set<string>();
  for await (const f of input.files) {
    if (names.size >= MAX_FILES_PER_UPLOAD) throw new ValidationError(`At most ${MAX_FILES_PER_UPLOAD} files per upload.`);
    if (names.has(f.name)) throw new ValidationError(`${f.name}: uploaded twice in one request.`, [{ file: f.name, reason: "duplicate file name" }]);
    names.add(f.name);
    try {
      converted.push({ ...(await convertToMarkdown(f.name, f.bytes, maxBytes, limits)), name: f.name });
    } catch (err) {
      if (!isAppError(err)) throw err;
      problems.push({ error: err, file: f.name });
    }
  }
  if (names.size === 0) throw new ValidationError("No files were uploaded; send them as multipart form fields named \"file\".");
  if (problems.length === 1) throw problems[0].error;
  if (problems.length > 1) {
    const first = problems[0].error;
    throw new AppError(
      first.status,
      first.code,
      `${problems.length} files cannot be ingested: ${problems.map((p) => p.error.message).join("; ")}`,
      problems.map((p) => ({ file: p.file, status: p.error.status, reason: p.error.message })),
    );
  }

  const source = await ensureUploadSource(db, collection.id);
  // A file is keyed by its name (or the path given with it) in its collection: uploading it again
  // updates it, or leaves it unchanged; the files of one request are written together or not at all.
  const result = await ingestDocuments(
    db,
    { sourceId: source.id, collectionId: collection.id },
    converted.map((c) => ({ externalId: c.name, title: c.title, markdown: c.markdown, properties: { format: c.format, file: c.name } })),
    { llm: input.llm, atomic: true },
  );
  if (result.pendingChunks > 0) await requestBackfill();
  await db.prisma.source.update({ where: { id: source.id }, data: { lastSyncAt: new Date() } });
  return {
    sourceId: source.id,
    files: result.outcomes.map((o) => ({ file: o.externalId, status: o.status, chunks: o.chunks, ...(o.status === "failed" ? { error: o.error } : {}) })),
    embeddedChunks: result.embeddedChunks,
    pendingChunks: result.pendingChunks,
  };
}

/** Someone who may import into the collection uploads files: all checked first, then stored; audited. */
export async function uploadFiles(ctx: AccessContext, input: { collectionId: string; files: AsyncIterable<UploadedFile> | Iterable<UploadedFile> }) {
  assertWritable(ctx, input.collectionId);
  const result = await ingestUploads(ctx.db, { collectionId: input.collectionId, files: input.files });
  await auditAs(ctx, "upload", `collection:${input.collectionId}`, { files: result.files.map((f) => f.file) });
  return result;
}
