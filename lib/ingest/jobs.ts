// The ingest job kinds (pg-boss, via lib/jobs/queue.ts), each defined next to the rules it runs:
//   ingest.import           run or resume one import job (Notion, S3, demo)      import-jobs.ts
//   ingest.embed-backfill   fill vectors missing while Ollama was down; re-embed  backfill.ts
//   ingest.notion-webhook   sync the Notion entities whose debounce has passed    notion-webhook.ts
import { backfillJob } from "./backfill";
import { importJob } from "./import-jobs";
import { notionWebhookJob } from "./notion-webhook";

export const ingestJobs = [importJob, backfillJob, notionWebhookJob];
