// Prometheus metrics without a dependency: counters and histograms kept in this process, plus gauges
// read from the database at scrape time (queue depth, failed jobs, last evaluation score) because
// workers run in other processes and only the database sees them all.
//
// Call the small `observe…` functions from lib/ where the thing happens; GET /api/metrics renders
// everything with `scrapeMetrics(access, { db, authorization })` (the scraper's token or an admin). Labels are bounded (route patterns, model names, stages): never
// put ids, questions or user names in a label.
import { answersLastHour, TIMING_QUANTILES, TIMING_STAGES, timingQuantilesLastHour } from "./answer/queries";
import { backupOutcomes } from "./backup/queries";
import { timingSafeEqual } from "node:crypto";
import { can, type AccessContext } from "./access/context";
import { getConfig } from "./config";
import { ForbiddenError, UnauthorizedError } from "./errors";
import type { Db } from "./db/client";
import { breakerViews } from "./llm/breaker";
import { queueJobCounts } from "./db/queries";
import { lastCompletedRunScores } from "./evaluate/queries";
import { runningImportTotals } from "./ingest/queries";
import { budgetStateCounts } from "./usage/queries";

type Labels = Record<string, string>;

const HTTP_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
const SLOW_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2, 3, 5, 10, 20, 30, 60, 120, 300];

function labelKey(labels: Labels): string {
  return Object.keys(labels)
    .sort()
    .map((k) => `${k}="${String(labels[k]).replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")}"`)
    .join(",");
}

class Counter {
  readonly values = new Map<string, number>();
  constructor(
    readonly name: string,
    readonly help: string,
  ) {}
  inc(labels: Labels, by = 1) {
    if (!(by >= 0)) return;
    const k = labelKey(labels);
    this.values.set(k, (this.values.get(k) ?? 0) + by);
  }
  render(): string[] {
    const out = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} counter`];
    for (const [k, v] of this.values) out.push(`${this.name}${k ? `{${k}}` : ""} ${v}`);
    return out;
  }
}

class Histogram {
  readonly series = new Map<string, { counts: number[]; sum: number; count: number }>();
  constructor(
    readonly name: string,
    readonly help: string,
    readonly buckets: number[],
  ) {}
  observe(labels: Labels, value: number) {
    if (!Number.isFinite(value) || value < 0) return;
    const k = labelKey(labels);
    let s = this.series.get(k);
    if (!s) this.series.set(k, (s = { counts: this.buckets.map(() => 0), sum: 0, count: 0 }));
    for (let i = 0; i < this.buckets.length; i++) if (value <= this.buckets[i]!) s.counts[i]!++;
    s.sum += value;
    s.count++;
  }
  render(): string[] {
    const out = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} histogram`];
    for (const [k, s] of this.series) {
      const sep = k ? `${k},` : "";
      this.buckets.forEach((b, i) => out.push(`${this.name}_bucket{${sep}le="${b}"} ${s.counts[i]}`));
      out.push(`${this.name}_bucket{${sep}le="+Inf"} ${s.count}`);
      out.push(`${this.name}_sum${k ? `{${k}}` : ""} ${s.sum}`);
      out.push(`${this.name}_count${k ? `{${k}}` : ""} ${s.count}`);
    }
    return out;
  }
}

interface Registry {
  http: Histogram;
  retrieval: Histogram;
  model: Histogram;
  tokens: Counter;
  modelCalls: Counter;
  gpuSeconds: Counter;
  loadSeconds: Counter;
  jobFailures: Counter;
  rateLimited: Counter;
  passwordHashing: Counter;
  holdersReaped: Counter;
}

// One registry per process even if Next.js loads this module in several bundles.
const KEY = Symbol.for("sot.metrics");
function registry(): Registry {
  const g = globalThis as typeof globalThis & { [KEY]?: Registry };
  return (g[KEY] ??= {
    http: new Histogram("sot_http_request_duration_seconds", "HTTP request latency by route pattern, method and status.", HTTP_BUCKETS),
    retrieval: new Histogram("sot_retrieval_duration_seconds", "Retrieval latency by stage (embed, vector, fulltext, fuse, rerank, total).", SLOW_BUCKETS),
    model: new Histogram("sot_model_duration_seconds", "Model call latency by model, operation (chat, embed, judge) and phase (first_token, total).", SLOW_BUCKETS),
    tokens: new Counter("sot_model_tokens_total", "Tokens processed by model and type (prompt, completion); equal to the usage ledger's sums."),
    modelCalls: new Counter("sot_model_calls_total", "Model calls recorded in the usage ledger, by model, operation (chat, embed, judge, rewrite, rerank) and outcome (ok, error)."),
    gpuSeconds: new Counter("sot_model_gpu_seconds_total", "GPU-seconds from Ollama's own durations (prompt_eval + eval; embed: total - load), by model and operation; equal to the usage ledger's sums."),
    loadSeconds: new Counter("sot_model_load_seconds_total", "Seconds Ollama spent loading models (load_duration), by model."),
    jobFailures: new Counter("sot_job_failures_total", "Job handler failures seen by this process, by job name."),
    rateLimited: new Counter("sot_rate_limited_total", "Requests refused with 429, by principal kind."),
    passwordHashing: new Counter("sot_password_hash_operations_total", "argon2 password operations (hash, verify) run by this process."),
    holdersReaped: new Counter("sot_budget_holders_reaped_total", "Budget holders of stopped processes whose reservations this process gave back (lib/usage/lease.ts, Holders)."),
  });
}

/** Called by lib/http/route.ts for every API request. `route` is the pattern (`/api/schedules/[id]`), never the raw path. */
export function observeHttpRequest(method: string, route: string, status: number, seconds: number): void {
  registry().http.observe({ method, route, status: String(status) }, seconds);
}

/** Retrieval stage timings, e.g. observeRetrieval("vector", 0.012). */
export function observeRetrieval(stage: "embed" | "vector" | "fulltext" | "fuse" | "rerank" | "total" | (string & {}), seconds: number): void {
  registry().retrieval.observe({ stage }, seconds);
}

/** A model call: observeModel({ model, op: "chat", phase: "first_token", seconds }). */
export function observeModel(o: { model: string; op: "chat" | "embed" | "judge" | "rerank" | (string & {}); phase?: "first_token" | "total"; seconds: number }): void {
  registry().model.observe({ model: o.model, op: o.op, phase: o.phase ?? "total" }, o.seconds);
}

/** One model call as the usage ledger records it (lib/usage/meter.ts): the counters and the ledger move together. */
export function observeUsage(u: { model: string; op: string; ok: boolean; promptTokens: number; completionTokens: number; gpuSeconds: number; loadSeconds: number }): void {
  const r = registry();
  r.modelCalls.inc({ model: u.model, op: u.op, outcome: u.ok ? "ok" : "error" });
  if (u.promptTokens) r.tokens.inc({ model: u.model, type: "prompt" }, u.promptTokens);
  if (u.completionTokens) r.tokens.inc({ model: u.model, type: "completion" }, u.completionTokens);
  if (u.gpuSeconds) r.gpuSeconds.inc({ model: u.model, op: u.op }, u.gpuSeconds);
  if (u.loadSeconds) r.loadSeconds.inc({ model: u.model }, u.loadSeconds);
}

/** A job handler threw (in this process). Failed jobs across all processes are also read from the queue at scrape time. */
export function observeJobFailure(job: string): void {
  registry().jobFailures.inc({ job });
}

export function observeRateLimited(kind: string): void {
  registry().rateLimited.inc({ kind });
}

/** Holders of stopped processes given back for by this process's beat (lib/usage/lease.ts). */
export function observeBudgetHoldersReaped(n: number): void {
  registry().holdersReaped.inc({}, n);
}

/** One argon2 hash or verification (lib/auth/passwords.ts). */
export function observePasswordHashing(op: "hash" | "verify"): void {
  registry().passwordHashing.inc({ op });
}

/** This process's count of argon2 operations so far (tests compare it before and after a call). */
export function passwordHashingCount(op: "hash" | "verify"): number {
  return registry().passwordHashing.values.get(labelKey({ op })) ?? 0;
}

function gauge(name: string, help: string, rows: Array<[Labels, number]>): string[] {
  const out = [`# HELP ${name} ${help}`, `# TYPE ${name} gauge`];
  for (const [labels, v] of rows) {
    const k = labelKey(labels);
    out.push(`${name}${k ? `{${k}}` : ""} ${v}`);
  }
  return out;
}

async function safe<T>(fn: () => Promise<T>, fallback: T): Promise<T> {
  try {
    return await fn();
  } catch {
    return fallback;
  }
}

/** Whether `Authorization: Bearer <token>` carries METRICS_TOKEN (compared in constant time). */
function metricsTokenMatches(authorization: string | null, token: string | undefined): boolean {
  if (!token || !authorization) return false;
  const m = /^Bearer\s+(\S+)$/i.exec(authorization);
  if (!m) return false;
  const a = Buffer.from(m[1]!);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * GET /api/metrics: the exposition for the scraper (METRICS_TOKEN as a bearer, no principal needed) or
 * an admin (session or API key with the admin scope); 401 for anyone else anonymous, 403 for the rest.
 */
export async function scrapeMetrics(ctx: AccessContext | null, input: { db: Db; authorization: string | null }): Promise<string> {
  if (!metricsTokenMatches(input.authorization, getConfig().METRICS_TOKEN)) {
    if (!ctx) throw new UnauthorizedError("Send the metrics token (Authorization: Bearer …) or sign in as an admin.");
    if (!can(ctx, "admin")) throw new ForbiddenError('Metrics need the "admin" permission or the metrics token.');
  }
  return renderMetrics(ctx?.db ?? input.db);
}

/** The Prometheus text exposition (version 0.0.4) of every metric. */
export async function renderMetrics(db: Db): Promise<string> {
  const r = registry();
  const lines: string[] = [];
  for (const m of [r.http, r.retrieval, r.model, r.tokens, r.modelCalls, r.gpuSeconds, r.loadSeconds, r.jobFailures, r.rateLimited, r.passwordHashing, r.holdersReaped]) lines.push(...m.render());

  // Queue state straight from pg-boss's table: every process's jobs, not just this one's.
  const queue = await safe(() => queueJobCounts(db.sql), []);
  lines.push(
    ...gauge(
      "sot_queue_depth",
      "Jobs waiting (created or retry) or running (active), by queue.",
      queue.filter((q) => q.state !== "failed").map((q) => [{ queue: q.name, state: q.state }, Number(q.n)]),
    ),
  );
  lines.push(
    ...gauge(
      "sot_jobs_failed",
      "Failed jobs still kept by the queue (pg-boss keeps them for its retention period), by queue.",
      queue.filter((q) => q.state === "failed").map((q) => [{ queue: q.name }, Number(q.n)]),
    ),
  );

  const last = await safe(() => lastCompletedRunScores(db.sql), []);
  const run = last[0];
  lines.push(
    ...gauge("sot_last_evaluation_hallucination_score", "Average hallucination score (1-5, higher is more faithful) of the last completed evaluation run.", run ? [[{}, Number(run.avg_hallucination)]] : []),
  );
  lines.push(
    ...gauge("sot_last_evaluation_faithfulness", "Average faithfulness ratio (0-1) of the last completed evaluation run.", run && run.avg_faithfulness != null ? [[{}, Number(run.avg_faithfulness)]] : []),
  );
  lines.push(
    ...gauge("sot_last_evaluation_timestamp_seconds", "When the last completed evaluation run finished (Unix time).", run?.finished_at ? [[{}, Math.floor(new Date(run.finished_at).getTime() / 1000)]] : []),
  );
  // Questions answered in the last hour, by every web process: from the query log, so nothing depends on
  // who called observe….
  const asks = await safe(() => answersLastHour(db.sql), []);
  lines.push(...gauge("sot_ask_answers_last_hour", "Questions answered in the last hour, by model and status (from the query log).", asks.map((a) => [{ model: a.model ?? "none", status: a.status }, Number(a.n)])));
  lines.push(
    ...gauge(
      "sot_ask_tokens_last_hour",
      "Tokens used by answers in the last hour, by model and type (from the query log).",
      asks.flatMap((a): Array<[Labels, number]> => [
        [{ model: a.model ?? "none", type: "prompt" }, Number(a.prompt ?? 0)],
        [{ model: a.model ?? "none", type: "completion" }, Number(a.completion ?? 0)],
      ]),
    ),
  );
  const qrow = await safe(() => timingQuantilesLastHour(db.sql), {});
  lines.push(
    ...gauge(
      "sot_ask_latency_seconds",
      "Answer latency over the last hour by stage (embed, retrieve, rerank, first_token, total) and quantile, from the query log.",
      TIMING_STAGES.flatMap((stage) =>
        TIMING_QUANTILES.flatMap((q): Array<[Labels, number]> => {
          const v = qrow[`${stage}_${q}`];
          return v == null ? [] : [[{ stage: stage.replace(/Ms$/, "").replace("firstToken", "first_token"), quantile: String(q) }, Math.round(Number(v)) / 1000]];
        }),
      ),
    ),
  );
  lines.push(...(await operationsGauges(db)));
  lines.push(...(await budgetGauges(db)));
  lines.push(...breakerGauge());
  lines.push(...gauge("sot_process_uptime_seconds", "Seconds since this web process started.", [[{}, Math.round(process.uptime())]]));
  return lines.join("\n") + "\n";
}

/** Each model this process has called: 1 while its breaker is open (calls refused at once), else 0. */
function breakerGauge(): string[] {
  return gauge(
    "sot_model_breaker_open",
    "1 while this process has paused a model after consecutive failures (lib/llm/breaker.ts), else 0; by model.",
    breakerViews().map((b): [Labels, number] => [{ model: b.model }, b.state === "open" ? 1 : 0]),
  );
}

/**
 * Only what this process counted (HTTP, model calls, tokens, job failures): what a worker process serves on
 * its own metrics port. The database gauges come from the web process alone, so Prometheus does not sum
 * the same queue depth once per process.
 */
export function renderProcessMetrics(role: string): string {
  const r = registry();
  const lines: string[] = [];
  for (const m of [r.http, r.retrieval, r.model, r.tokens, r.modelCalls, r.gpuSeconds, r.loadSeconds, r.jobFailures, r.holdersReaped]) lines.push(...m.render());
  lines.push(...breakerGauge());
  lines.push(...gauge("sot_process_uptime_seconds", "Seconds since this process started.", [[{ role }, Math.round(process.uptime())]]));
  return lines.join("\n") + "\n";
}

/**
 * What the alert rules in deploy/observability watch and nobody else counts: the last backup that
 * succeeded and failed, imports running and their progress, and the evaluation target the last run is
 * held to (a setting, so the rule reads it instead of repeating the number).
 */
async function operationsGauges(db: Db): Promise<string[]> {
  const backups = await safe(
    () =>
      backupOutcomes(db.sql),
    [],
  );
  const backup = (status: string) => backups.find((b) => b.status === status);
  const unix = (d: Date | string | null | undefined) => (d ? Math.floor(new Date(d).getTime() / 1000) : null);
  const lastOk = unix(backup("succeeded")?.last);
  const lastFailed = unix(backup("failed")?.last);
  const imports = await safe(
    () =>
      runningImportTotals(db.sql),
    [],
  );
  const im = imports[0];
  return [
    ...gauge("sot_backup_last_success_timestamp_seconds", "When the last successful backup finished (Unix time); absent before the first.", lastOk ? [[{}, lastOk]] : []),
    ...gauge("sot_backup_last_failure_timestamp_seconds", "When the last failed backup finished (Unix time); absent when none failed.", lastFailed ? [[{}, lastFailed]] : []),
    ...gauge(
      "sot_backups_last_day",
      "Backups finished in the last 24 hours, by status (succeeded, failed).",
      ["succeeded", "failed"].map((status): [Labels, number] => [{ status }, Number(backup(status)?.day ?? 0)]),
    ),
    ...gauge("sot_imports_running", "Imports running now (every source and kind).", [[{}, Number(im?.running ?? 0)]]),
    ...gauge(
      "sot_import_pages",
      "Pages of the imports running now, by state: found so far, done (imported or unchanged), failed.",
      [
        [{ state: "found" }, Number(im?.found ?? 0)],
        [{ state: "done" }, Number(im?.done ?? 0)],
        [{ state: "failed" }, Number(im?.failed ?? 0)],
      ],
    ),
    ...gauge("sot_evaluation_target_score", "The hallucination score evaluation runs are held to (EVAL_ALERT_THRESHOLD).", [[{}, getConfig().EVAL_ALERT_THRESHOLD]]),
  ];
}

/** Budgets by scope kind, metric and period (never by whom: labels stay bounded): in budget mode, used up. */
async function budgetGauges(db: Db): Promise<string[]> {
  const rows = await safe(() => budgetStateCounts(db.sql), []);
  const labels = (r: (typeof rows)[number]) => ({ scope_kind: r.scope_kind, metric: r.metric, period: r.period });
  return [
    ...gauge("sot_budgets", "Budgets set, by scope kind (global, user, api_key, agent, schedule), metric and period.", rows.map((r) => [labels(r), Number(r.total)])),
    ...gauge("sot_budgets_in_budget_mode", "Budgets past their budget-mode threshold but not used up (answers degrade).", rows.map((r) => [labels(r), Number(r.budget_mode)])),
    ...gauge("sot_budgets_exhausted", "Budgets used up: their principals' new work is refused with 429 until the window resets.", rows.map((r) => [labels(r), Number(r.exhausted)])),
  ];
}

/** The route pattern of a request: the path with each parameter value replaced by `[name]`. */
export function routePattern(pathname: string, params: Record<string, string | string[]> | undefined): string {
  if (!params) return pathname;
  const segments = pathname.split("/");
  for (const [name, value] of Object.entries(params)) {
    const values = Array.isArray(value) ? value : [value];
    if (Array.isArray(value) && values.length > 0) {
      // Catch-all: the last N segments are the values.
      const start = segments.length - values.length;
      if (start > 0 && values.every((v, i) => safeDecode(segments[start + i]!) === v)) {
        segments.splice(start, values.length, `[...${name}]`);
        continue;
      }
    }
    for (let i = 0; i < segments.length; i++) if (values.length === 1 && safeDecode(segments[i]!) === values[0]) segments[i] = `[${name}]`;
  }
  return segments.join("/");
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
