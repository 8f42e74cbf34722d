// The ingest worker process (PostgreSQL deployments; the embedded default runs these jobs inside the
// web process): Notion/S3 imports, the Notion webhook flush, and the embed backfill. Several may run
// on several machines; pg-boss hands each job to one of them.
import { requestBackfill } from "../lib/ingest";
import { runWorkers } from "../lib/jobs/run-workers";

await runWorkers("ingest", ["ingest"]);
// Chunks left without vectors (Ollama was down, or the embedding model changed) are picked up at start.
await requestBackfill();
