// Runs job workers until SIGTERM/SIGINT: workers/<role>.ts call this with their job kinds.
import { getConfig } from "../config";
import { closeDb, getDb } from "../db/client";
import { log } from "../log";
import { startWorkerMetrics } from "../metrics-server";
import { flushUsage } from "../usage/meter";
import { closeQueue, getQueue } from "./queue";
import { jobsFor } from "./registry";

export async function runWorkers(role: string, names?: string[]): Promise<void> {
  getConfig();
  await getDb();
  const queue = await getQueue();
  const jobs = jobsFor(names);
  await queue.work(jobs);
  const metrics = await startWorkerMetrics(role);
  log("info", "workers started", { role, jobs: jobs.map((j) => j.name) });
  const stop = async (signal: string) => {
    log("info", "workers stopping", { role, signal });
    metrics?.close();
    await closeQueue().catch(() => {});
    await flushUsage(); // ledger rows and settlements still being written
    await closeDb().catch(() => {});
    process.exit(0);
  };
  process.once("SIGTERM", () => void stop("SIGTERM"));
  process.once("SIGINT", () => void stop("SIGINT"));
}
