// The import-job driver of a Supabase move-in: its pages are the old pages staged by `moveIn`, so the
// job is resumable like any other (a killed worker's retry goes on with the pages still pending) and
// each page goes through the normal pipeline (unchanged pages cost nothing).
import { ValidationError } from "../errors";
import type { SourceDriver } from "../ingest/driver";
import { assembleDocument } from "./documents";
import { countStagedRows, deleteStagedRows, stagedChunks, stagedDocuments } from "./queries";

export const supabaseDriver: SourceDriver = {
  async seeds(ctx) {
    const docs = await stagedDocuments(ctx.db.sql, ctx.job.id);
    if (docs.length === 0 && (await countStagedRows(ctx.db.sql, ctx.job.id)) === 0) {
      throw new ValidationError("A Supabase source is imported from its export: use “Move in from Supabase” (or npm run import:supabase) again.");
    }
    return docs.map((d) => ({ externalId: d.docKey, kind: "page" as const, title: d.title }));
  },
  async expand() {
    return [];
  },
  async fetch(ctx, item) {
    const rows = await stagedChunks(ctx.db.sql, ctx.job.id, item.externalId);
    return assembleDocument(item.externalId, rows, String(ctx.job.options.table ?? "wiki_chunks"));
  },
  // A move-in never removes documents: pages missing from a later export may simply not be in it.
  async finalize() {
    return 0;
  },
  async finished(ctx) {
    await deleteStagedRows(ctx.db.sql, ctx.job.id);
  },
  concurrency: 4,
};
