// Public face of lib/ingest for other areas (boot, scheduler, routes, pages).
export { requestBackfill } from "./backfill";
export { seedDemoWiki } from "./demo";
export { getImportJob, importJobView, resumeImportJob, startImport, startNotionImport, startReconcile } from "./import-jobs";
export { ingestUploads, MAX_FILES_PER_UPLOAD, uploadFiles } from "./upload";
export { awaitWebhookHandshake, forgetWebhookToken, receiveNotionWebhook, viewWebhookState } from "./notion-webhook";
export { createNotionSource } from "./notion";
export { createS3Source } from "./s3";
export { connectSource, getSource, listSources, type ConnectSourceInput } from "./sources";
export { getDocumentView, type DocumentView, type DocumentChunkView } from "./documents";
export type { ImportJobView } from "./import-jobs";
