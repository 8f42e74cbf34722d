// "Move in from Supabase" on the Sources page: the export arrives as the request body (streamed, never
// held whole), is read and reported on (dry run) or staged and handed to the ingest workers as an import
// job whose progress the page follows. Administrators only.
import { Readable, Transform } from "node:stream";
import type { ReadableStream as WebReadableStream } from "node:stream/web";
import { requireAdmin, type AccessContext } from "../access/context";
import { getConfig } from "../config";
import { PayloadTooLargeError, ValidationError } from "../errors";
import { importJob } from "../ingest/import-jobs";
import { enqueue } from "../jobs/queue";
import { moveIn, type MoveInReport } from "./move-in";

export interface MoveInUpload {
  body: ReadableStream<Uint8Array> | null;
  fileName: string;
  collectionId: string;
  table?: string;
  map?: string;
  dryRun: boolean;
}

export async function moveInFromUpload(ctx: AccessContext, input: MoveInUpload): Promise<MoveInReport> {
  requireAdmin(ctx);
  if (!input.body) throw new ValidationError("Send the export (pg_dump plain SQL or CSV) as the request body.");
  const max = getConfig().SUPABASE_IMPORT_MAX_BYTES;
  let seen = 0;
  const limited = Readable.fromWeb(input.body as WebReadableStream<Uint8Array>).pipe(
    new Transform({
      transform(chunk: Buffer, _enc, done) {
        seen += chunk.length;
        if (seen > max) done(new PayloadTooLargeError(max, input.fileName));
        else done(null, chunk);
      },
    }),
  );
  return moveIn(
    ctx,
    { from: { stream: limited, name: input.fileName }, collectionId: input.collectionId, table: input.table, map: input.map, dryRun: input.dryRun },
    { run: "queue", enqueue: async (jobId) => void (await enqueue(importJob, { jobId }, { heartbeatSeconds: 60 })) },
  );
}
