// The backup worker process (PostgreSQL deployments, on the storage machine; the embedded default runs
// backup jobs inside the web process). Takes `backup.run` jobs and runs them through lib/backup.
import { getConfig } from "../lib/config";
import { closeDb } from "../lib/db/client";
import { closeQueue, getQueue } from "../lib/jobs/queue";
import { jobsFor } from "../lib/jobs/registry";

getConfig(); // a wrong setting stops start-up with one clear message
const queue = await getQueue();
await queue.work(jobsFor(["backup"]));
console.log(JSON.stringify({ level: "info", msg: "backup worker started", jobs: jobsFor(["backup"]).map((j) => j.name) }));

const stop = async () => {
  await closeQueue().catch(() => {});
  await closeDb().catch(() => {});
  process.exit(0);
};
process.once("SIGTERM", () => void stop());
process.once("SIGINT", () => void stop());
