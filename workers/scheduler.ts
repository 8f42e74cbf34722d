// The scheduler process (PostgreSQL deployments; the embedded default runs the same loop inside the web
// process). Any number of these may run at once, on one machine or several: claiming is safe.
// Stops on SIGTERM/SIGINT after recording the runs it was executing.
import { getConfig } from "../lib/config";
import { closeDb, getDb } from "../lib/db/client";
import { log } from "../lib/log";
import { startScheduler } from "../lib/schedules";

getConfig(); // a wrong setting stops start-up with one clear message
const db = await getDb();
const controller = new AbortController();
const { stopped } = startScheduler({ db, signal: controller.signal });

const stop = async (signal: string) => {
  log("info", "scheduler process stopping", { signal });
  controller.abort();
  await stopped;
  await closeDb().catch(() => {});
  process.exit(0);
};
process.once("SIGTERM", () => void stop("SIGTERM"));
process.once("SIGINT", () => void stop("SIGINT"));
