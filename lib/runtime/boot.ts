// Start-up of the web process: settings, database (the embedded one is migrated and locked when
// opened; PostgreSQL is migrated here under Prisma's advisory lock), first-run content, and — on the
// embedded default — every background worker inside this same process.
import { getConfig } from "../config";
import { getDb } from "../db/client";
import { applyMigrations } from "../db/migrate";
import { getLlm } from "../llm";
import { getQueue } from "../jobs/queue";
import { ALL_JOBS } from "../jobs/registry";
import { log } from "../log";

export async function boot(): Promise<void> {
  const config = getConfig(); // throws ConfigError listing every problem
  const db = await getDb();
  if (db.kind === "postgres") {
    const { applied } = await applyMigrations(db.sql, { log: (l) => log("info", l) });
    if (applied.length) log("info", "migrations applied", { applied });
  }
  log("info", "database ready", { kind: db.kind });

  if (config.workersInProcess) {
    const queue = await getQueue();
    await queue.work(ALL_JOBS);
    log("info", "in-process workers started", { jobs: ALL_JOBS.map((j) => j.name) });
  }

  // Ollama being down is reported, never fatal.
  const status = await getLlm().status();
  if (!status.reachable) log("warn", "Ollama is not reachable; answers fall back to wiki passages", { host: status.host, error: status.error });
  else if (status.missing.length) log("warn", "Ollama lacks configured models", { missing: status.missing });
  else log("info", "Ollama ready", { host: status.host });
}
