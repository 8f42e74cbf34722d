// Start-up of the web process: settings, database (the embedded one is migrated and locked when
// opened; PostgreSQL is migrated here under Prisma's advisory lock), first-run content, and — on the
// embedded default, or with WORKERS_IN_PROCESS=true — the job workers and the scheduler inside this
// same process.
import { setUpSystemAgents } from "../agents/system";
import { getConfig } from "../config";
import { getDb } from "../db/client";
import { applyMigrations } from "../db/migrate";
import { requestBackfill } from "../ingest";
import { seedDemoWiki } from "../ingest/demo";
import { getLlm } from "../llm";
import { getQueue } from "../jobs/queue";
import { ALL_JOBS } from "../jobs/registry";
import { log } from "../log";
import { upgradeLegacySecretsAtStart } from "../secrets";
import { startScheduler } from "../schedules/scheduler";

export interface Running {
  /** Stops the in-process scheduler (the queue and database are closed by their owners). */
  stop(): Promise<void>;
}

export async function boot(): Promise<Running> {
  const config = getConfig(); // throws ConfigError listing every problem
  const db = await getDb();
  if (db.kind === "postgres") {
    const { applied } = await applyMigrations(db.sql, { log: (l) => log("info", l) });
    if (applied.length) log("info", "migrations applied", { applied });
  }
  log("info", "database ready", { kind: db.kind });
  // SOT's own agents, the wiki-knowledge key and the sync-state cubby (idempotent; KES down: retried on first use).
  await setUpSystemAgents(db);

  const stopScheduler = new AbortController();
  let scheduler: ReturnType<typeof startScheduler> | undefined;
  if (config.workersInProcess) {
    const queue = await getQueue();
    await queue.work(ALL_JOBS);
    scheduler = startScheduler({ db, signal: stopScheduler.signal });
    log("info", "in-process workers and scheduler started", { jobs: ALL_JOBS.map((j) => j.name) });
  }

  // Ollama being down is reported, never fatal.
  const status = await getLlm().status();
  if (!status.reachable) log("warn", "Ollama is not reachable; answers fall back to wiki passages", { host: status.host, error: status.error });
  else if (status.missing.length) log("warn", "Ollama lacks configured models", { missing: status.missing });
  else log("info", "Ollama ready", { host: status.host });

  // Chunks stored while Ollama was down, or embedded by a previous embedding model, get (re)embedded.
  await requestBackfill();
  // Secrets still in the pre-KES form are re-sealed by KES for their rows (they read meanwhile too).
  void upgradeLegacySecretsAtStart(db).catch((err: Error) => log("warn", "legacy secret conversion did not run", { error: err.message }));
  // The demo wiki is imported in the background: the app serves at once and the wiki fills in.
  if (config.DEMO_WIKI) {
    void seedDemoWiki(db).catch((err: Error) => log("error", "demo wiki import failed", { error: err.message }));
  }

  return {
    async stop() {
      stopScheduler.abort();
      await scheduler?.stopped;
    },
  };
}
