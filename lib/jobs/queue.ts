// The job queue: pg-boss on the same PostgreSQL (or PGlite) as the data, so a job and the rows it
// touches live in one database, jobs survive restarts, retry with backoff, and several workers on
// several machines share the work. A domain defines its jobs next to its rules with defineJob();
// lib/jobs/registry.ts lists them for workers.
import { PgBoss, type SendOptions } from "pg-boss";
import { getDb, type Db } from "../db/client";
import { observeJobFailure } from "../metrics";

export interface JobContext {
  id: string;
  /** How many times this job has been retried before. */
  retryCount: number;
  signal: AbortSignal;
}

export interface JobDefinition<T extends object = Record<string, unknown>> {
  name: string;
  handler: (data: T, ctx: JobContext) => Promise<unknown>;
  /** Retries with exponential backoff (default 3, 5 s). */
  retryLimit?: number;
  retryDelaySeconds?: number;
  /** A job running longer than this is failed and retried (default 15 min). */
  expireInSeconds?: number;
  /** Jobs of this kind one worker process runs at once (default 1). */
  concurrency?: number;
  /** pg-boss queue policy; "singleton" keeps at most one queued job per singletonKey. */
  policy?: "standard" | "singleton" | "stately";
}

export function defineJob<T extends object>(def: JobDefinition<T>): JobDefinition<T> {
  if (!/^[a-z][a-z0-9._-]*$/.test(def.name)) throw new Error(`Invalid job name ${def.name}`);
  return def;
}

/**
 * How often an idle worker asks the database for a job of its kind. Each poll is a statement (about 1 ms of
 * PostgreSQL's CPU) per job kind, whether or not anything is queued: at 0.5 s the in-process workers cost the
 * database ~30 ms of CPU per second on a quiet machine, taken from the questions being answered on two cores
 * (docs/benchmarks.md, "Ask overhead"). A job enqueued in this process wakes its worker at once (`enqueue`), so
 * the interval only delays jobs enqueued by another process — by at most this long, for jobs that run for
 * seconds to hours — and retries, which wait seconds anyway.
 */
export const JOB_POLL_SECONDS = 2;

export class JobQueue {
  private readonly created = new Map<string, Promise<void>>();
  /** This process's worker per job kind, woken when the process enqueues a job of that kind. */
  private readonly workers = new Map<string, string>();
  private constructor(readonly boss: PgBoss) {}

  static async open(db: Db): Promise<JobQueue> {
    const boss =
      db.kind === "postgres"
        ? new PgBoss({ connectionString: db.url!, max: 4, schema: "pgboss", application_name: "sot-queue" })
        : new PgBoss({ db: pgliteDatabase(db), schema: "pgboss", backend: "pglite" });
    boss.on("error", (err: Error) => console.error(JSON.stringify({ level: "error", msg: "queue error", error: err.message })));
    await boss.start();
    return new JobQueue(boss);
  }

  private ensureQueue(def: JobDefinition<any>): Promise<void> {
    let p = this.created.get(def.name);
    if (!p) {
      p = this.boss
        .createQueue(def.name, {
          policy: def.policy ?? "standard",
          retryLimit: def.retryLimit ?? 3,
          retryDelay: def.retryDelaySeconds ?? 5,
          retryBackoff: true,
          expireInSeconds: def.expireInSeconds ?? 900,
        })
        .catch((err: Error) => {
          // Another process created it first.
          if (!/already exists|duplicate key/i.test(err.message)) throw err;
        });
      this.created.set(def.name, p);
    }
    return p;
  }

  async enqueue<T extends object>(def: JobDefinition<T>, data: T, options: SendOptions = {}): Promise<string | null> {
    await this.ensureQueue(def);
    const id = await this.boss.send(def.name, data, options);
    const worker = this.workers.get(def.name);
    if (worker) this.boss.notifyWorker(worker);
    return id;
  }

  /** Starts working on the given job kinds; returns a function that stops gracefully. */
  async work(defs: JobDefinition<any>[]): Promise<void> {
    for (const def of defs) {
      await this.ensureQueue(def);
      const worker = await this.boss.work<object>(
        def.name,
        { batchSize: 1, localConcurrency: def.concurrency ?? 1, pollingIntervalSeconds: JOB_POLL_SECONDS },
        async (jobs) => {
          for (const job of jobs) {
            try {
              await def.handler(job.data as never, {
                id: job.id,
                retryCount: (job as { retryCount?: number }).retryCount ?? 0,
                signal: job.signal,
              });
            } catch (err) {
              observeJobFailure(def.name);
              throw err; // pg-boss records the failure and retries with backoff
            }
          }
        },
      );
      this.workers.set(def.name, worker);
    }
  }

  /** Jobs waiting or running per queue, for health and metrics. */
  async depth(): Promise<Array<{ name: string; queued: number; active: number; failed: number }>> {
    const queues = await this.boss.getQueues();
    return queues.map((q) => ({ name: q.name, queued: q.queuedCount ?? 0, active: q.activeCount ?? 0, failed: q.failedCount ?? 0 }));
  }

  async stop(): Promise<void> {
    await this.boss.stop({ graceful: true, timeout: 10_000 });
  }
}

/** pg-boss over PGlite: parameterless multi-statement scripts must go through exec(), not query(). */
function pgliteDatabase(db: Db) {
  const pg = db.pglite!;
  return {
    async executeSql(text: string, values?: unknown[]) {
      if (!values || values.length === 0) {
        const results = await pg.exec(text);
        return { rows: results.at(-1)?.rows ?? [] };
      }
      const res = await pg.query(text, values);
      return { rows: res.rows };
    },
  };
}

const KEY = Symbol.for("sot.queue");
type Holder = typeof globalThis & { [KEY]?: Promise<JobQueue> };

/** The process's queue, on the process's database. */
export function getQueue(): Promise<JobQueue> {
  const g = globalThis as Holder;
  g[KEY] ??= getDb()
    .then((db) => JobQueue.open(db))
    .catch((err) => {
      delete g[KEY];
      throw err;
    });
  return g[KEY]!;
}

export function setQueue(queue: JobQueue): void {
  (globalThis as Holder)[KEY] = Promise.resolve(queue);
}

export async function closeQueue(): Promise<void> {
  const g = globalThis as Holder;
  const q = g[KEY];
  delete g[KEY];
  if (q) await (await q).stop();
}

export async function enqueue<T extends object>(def: JobDefinition<T>, data: T, options?: SendOptions) {
  return (await getQueue()).enqueue(def, data, options);
}
