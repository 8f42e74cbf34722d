// The ingest job kinds (pg-boss, via lib/jobs/queue.ts). Handlers only call lib/ingest.
//   ingest.import           run or resume one import job (Notion, S3, demo)
//   ingest.embed-backfill   fill vectors missing while Ollama was down; re-embed after a model change
//   ingest.notion-webhook   sync the Notion entities whose webhook debounce has passed
import { getConfig } from "../config";
import { getDb } from "../db/client";
import { defineJob, enqueue } from "../jobs/queue";
import { log } from "../log";
import { backfillEmbeddings } from "./backfill";
import { failImportJob, runImportJob, setBackfillRequester } from "./import-jobs";
import { flushNotionWebhooks, setFlushRequester } from "./notion-webhook";
// The import job runs the move-in driver too: whichever process takes the job must have it registered.
import "../supabase-import/driver";

const IMPORT_RETRIES = 3;

export const importJob = defineJob<{ jobId: string }>({
  name: "ingest.import",
  retryLimit: IMPORT_RETRIES,
  retryDelaySeconds: 10,
  expireInSeconds: 6 * 3600,
  concurrency: 2,
  async handler({ jobId }, ctx) {
    const db = await getDb();
    try {
      await runImportJob(db, jobId, { signal: ctx.signal });
    } catch (err) {
      // The retry resumes from the items already done; after the last one the job is failed for good.
      if (ctx.retryCount >= IMPORT_RETRIES) await failImportJob(db, jobId, (err as Error).message);
      throw err;
    }
  },
});

export const backfillJob = defineJob<Record<string, never>>({
  name: "ingest.embed-backfill",
  // One queued + one running at most: requests while one waits collapse into it.
  policy: "stately",
  retryLimit: 1,
  expireInSeconds: 3600,
  async handler() {
    const db = await getDb();
    const r = await backfillEmbeddings(db);
    log("info", "embed backfill", { embedded: r.embedded, reused: r.reused, staged: r.staged, swapped: r.swapped, remaining: r.remaining, error: r.error });
    // Still work to do (Ollama down, or more than one run's limit): come back later.
    if (r.remaining > 0) {
      const delay = r.error ? getConfig().INGEST_EMBED_RETRY_SECONDS : 1;
      await enqueue(backfillJob, {}, { startAfter: delay });
    }
  },
});

export const notionWebhookJob = defineJob<Record<string, never>>({
  name: "ingest.notion-webhook",
  policy: "stately",
  retryLimit: 3,
  retryDelaySeconds: 5,
  async handler() {
    const db = await getDb();
    const r = await flushNotionWebhooks(db);
    // Come back when the next entity is due, but within 5 s at most: while this follow-up waits in the
    // queue, new events cannot queue another flush (one queued at a time), so it must not sleep long.
    if (r.nextDueInMs !== null) await enqueue(notionWebhookJob, {}, { startAfter: Math.min(5, Math.max(1, Math.ceil(r.nextDueInMs / 1000))) });
  },
});

setBackfillRequester(async () => {
  await enqueue(backfillJob, {}, { startAfter: 1 });
});
setFlushRequester(async (delayMs) => {
  await enqueue(notionWebhookJob, {}, { startAfter: Math.max(1, Math.ceil(delayMs / 1000)) });
});

export const ingestJobs = [importJob, backfillJob, notionWebhookJob];
