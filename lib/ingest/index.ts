// Public face of lib/ingest for other areas (boot, scheduler, routes, pages).
import { getDb, type Db } from "../db/client";
import { NotFoundError } from "../errors";
import { enqueue } from "../jobs/queue";
import { createImportJob, getImportJob as readImportJob, type ImportJobView } from "./import-jobs";
import { backfillJob, importJob } from "./jobs";
import { startNotionImport as createNotionImport } from "./notion";
import "./s3";

// Importing this module also registers the job kinds that webhooks and uploads enqueue (./jobs).
export { seedDemoWiki } from "./demo";
export { ingestUploads, MAX_FILES_PER_UPLOAD } from "./upload";
export { clearWebhookVerificationToken, openWebhookHandshake, receiveNotionWebhook, webhookState, webhookVerificationToken } from "./notion-webhook";
export { createNotionSource } from "./notion";
export { createS3Source } from "./s3";
export { listSources, getSource } from "./sources";
export { getDocumentView, type DocumentView, type DocumentChunkView } from "./documents";
export type { ImportJobView } from "./import-jobs";

// A worker that dies mid-import stops sending heartbeats; pg-boss then retries the job within a minute
// or so, and the retry resumes from the items already done (instead of waiting for the expiry).
const IMPORT_SEND_OPTIONS = { heartbeatSeconds: 60 };

/** Starts a Notion import job (everything shared, or the given pages / data sources) and queues it. */
export async function startNotionImport(
  input: { sourceId: string; pageIds?: string[]; dataSourceIds?: string[]; trigger?: string },
  deps: { db?: Db } = {},
): Promise<{ kind: "import_job"; id: string }> {
  const db = deps.db ?? (await getDb());
  const job = await createNotionImport(db, input);
  await enqueue(importJob, { jobId: job.id }, IMPORT_SEND_OPTIONS);
  return job;
}

/** A full re-sync of a source (Notion or S3): catches what webhooks missed, removes what is gone. */
export async function startReconcile(sourceId: string, deps: { db?: Db; trigger?: string } = {}): Promise<{ kind: "import_job"; id: string }> {
  const db = deps.db ?? (await getDb());
  const source = await db.prisma.source.findUnique({ where: { id: sourceId } });
  if (!source) throw new NotFoundError("Source");
  const { id } = await createImportJob(db, { sourceId, kind: source.kind === "s3" ? "s3_sync" : "reconcile", trigger: deps.trigger ?? "schedule" });
  await enqueue(importJob, { jobId: id }, IMPORT_SEND_OPTIONS);
  return { kind: "import_job", id };
}

export async function getImportJob(id: string, db?: Db): Promise<ImportJobView> {
  return readImportJob(db ?? (await getDb()), id);
}

/** Queues the embed backfill (vectors missing or from another model); a no-op when one is already queued. */
export async function kickEmbedBackfill(): Promise<void> {
  await enqueue(backfillJob, {});
}
