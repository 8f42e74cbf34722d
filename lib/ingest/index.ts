// Public face of lib/ingest for other areas (boot, scheduler, routes, pages).
import { getDb, type Db } from "../db/client";
import { getImportJob as readImportJob, type ImportJobView } from "./import-jobs";

export { requestBackfill } from "./backfill";
export { seedDemoWiki } from "./demo";
export { startNotionImport, startReconcile } from "./import-jobs";
export { ingestUploads, MAX_FILES_PER_UPLOAD } from "./upload";
export { clearWebhookVerificationToken, openWebhookHandshake, receiveNotionWebhook, webhookState, webhookVerificationToken } from "./notion-webhook";
export { createNotionSource } from "./notion";
export { createS3Source } from "./s3";
export { listSources, getSource } from "./sources";
export { getDocumentView, type DocumentView, type DocumentChunkView } from "./documents";
export type { ImportJobView } from "./import-jobs";

export async function getImportJob(id: string, db?: Db): Promise<ImportJobView> {
  return readImportJob(db ?? (await getDb()), id);
}
