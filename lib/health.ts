// What works and what is missing: the database (kind, latency, pgvector, migrations), Ollama
// (reachable, models) and the job queue. Anonymous callers get up/down only; signed-in ones the details.
import { getConfig } from "./config";
import { getDb } from "./db/client";
import { migrationStatus } from "./db/migrate";
import { vectorExtensionVersion } from "./db/queries";
import { getLlm, type LlmStatus } from "./llm";
import { getQueue } from "./jobs/queue";

export interface Health {
  status: "ok" | "degraded" | "down";
  /** Components that stop the app from serving (→ 503). */
  down: string[];
  /** Components that are missing but the app serves without them (e.g. Ollama → full-text answers). */
  degraded: string[];
  database: {
    ok: boolean;
    kind: "postgres" | "pglite";
    latencyMs: number | null;
    pgvector: string | null;
    migrations: { applied: number; pending: string[] } | null;
    error?: string;
  };
  ollama: LlmStatus;
  queue: { ok: boolean; workers: "in-process" | "separate processes"; depth: Array<{ name: string; queued: number; active: number; failed: number }>; error?: string };
}

async function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms))),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

export async function checkHealth(): Promise<Health> {
  const config = getConfig();
  const database: Health["database"] = { ok: false, kind: config.databaseKind, latencyMs: null, pgvector: null, migrations: null };
  const [dbResult, ollama] = await Promise.all([
    (async () => {
      const started = performance.now();
      const db = await withTimeout(getDb(), 5000, "the database");
      const pgvector = await withTimeout(vectorExtensionVersion(db.sql), 3000, "the database");
      database.latencyMs = Math.round(performance.now() - started);
      database.pgvector = pgvector;
      const m = await migrationStatus(db.sql);
      database.migrations = { applied: m.applied.length, pending: m.pending };
      database.ok = database.pgvector !== null && m.pending.length === 0;
      if (!database.pgvector) database.error = "the pgvector extension is not installed";
      else if (m.pending.length) database.error = `migrations pending: ${m.pending.join(", ")} (run npm run db:migrate)`;
    })().catch((err: Error) => {
      database.error = err.message;
    }),
    getLlm().status(),
  ]);
  void dbResult;

  const queue: Health["queue"] = { ok: false, workers: config.workersInProcess ? "in-process" : "separate processes", depth: [] };
  if (database.ok) {
    try {
      queue.depth = await withTimeout((await getQueue()).depth(), 3000, "the job queue");
      queue.ok = true;
    } catch (err) {
      queue.error = (err as Error).message;
    }
  } else {
    queue.error = "needs the database";
  }

  const down = [...(database.ok ? [] : ["database"]), ...(queue.ok ? [] : ["queue"])];
  const degraded = [
    ...(ollama.reachable ? [] : ["ollama"]),
    ...(ollama.reachable && ollama.missing.length ? ["ollama-models"] : []),
    // A paused model: asks take the fallback or the no-model answer until its breaker closes.
    ...(ollama.breakers.some((b) => b.state === "open") ? ["ollama-breaker"] : []),
  ];
  return { status: down.length ? "down" : degraded.length ? "degraded" : "ok", down, degraded, database, ollama, queue };
}

/** What an anonymous caller may see: no hosts, versions, model names or errors. */
export function publicHealth(h: Health) {
  return {
    status: h.status,
    down: h.down,
    degraded: h.degraded,
    database: { ok: h.database.ok },
    ollama: { reachable: h.ollama.reachable, modelsMissing: h.ollama.missing.length, modelsPaused: h.ollama.breakers.filter((b) => b.state === "open").length },
    queue: { ok: h.queue.ok },
  };
}
