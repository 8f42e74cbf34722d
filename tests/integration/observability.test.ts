// deploy/observability against the app itself: Prometheus' own tool accepts the scrape configuration and
// the alert rules and passes their unit tests; every metric the alert rules and the Grafana dashboard query
// is one the app serves (GET /api/metrics, a worker's /metrics); the operations gauges those rules watch
// report what the database holds; a worker's metrics port answers only with the token.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseConfig, resetConfig } from "@/lib/config";
import { renderMetrics, renderProcessMetrics } from "@/lib/metrics";
import { startWorkerMetrics } from "@/lib/metrics-server";
import { createTestDb, type TestDb } from "@/tests/helpers/db";
import { makeCollection, makeSource } from "@/tests/helpers/factories";

const DIR = path.resolve(__dirname, "../../deploy/observability");
const read = (file: string) => readFileSync(path.join(DIR, file), "utf8");

function promtool(...args: string[]): string {
  try {
    return execFileSync("promtool", args, { cwd: DIR, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  } catch (err) {
    const e = err as { code?: string; stdout?: string; stderr?: string };
    if (e.code === "ENOENT") throw new Error("promtool is not installed: apt-get install prometheus (.ci/run does)");
    throw new Error(`promtool ${args.join(" ")} failed:\n${e.stdout ?? ""}${e.stderr ?? ""}`);
  }
}

interface Panel {
  title: string;
  targets?: Array<{ expr: string }>;
}
const dashboard = JSON.parse(read("grafana/dashboards/sot-overview.json")) as { uid: string; panels: Panel[] };
const dashboardQueries = dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p.title, expr: t.expr })));
const alertExprs = [...read("sot-alerts.yml").matchAll(/expr: (\|\n((?: {10}.*\n)+)|.*)/g)].map((m) => (m[2] ?? m[1])!.trim());

/** Metric names a PromQL expression reads (Prometheus' own `up` apart). */
function metricNames(expr: string): string[] {
  return [...new Set([...expr.matchAll(/\b(sot_[a-z0-9_]+)\b/g)].map((m) => m[1]!))];
}

/** Every series name an exposition offers: each family, and a histogram's _bucket, _sum and _count. */
function exposed(text: string): Set<string> {
  const names = new Set<string>();
  for (const m of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    names.add(m[1]!);
    if (m[2] === "histogram") for (const s of ["_bucket", "_sum", "_count"]) names.add(m[1]! + s);
  }
  return names;
}

describe("deploy/observability", () => {
  let db: TestDb;
  let scratch: string;
  beforeAll(async () => {
    db = await createTestDb();
    scratch = mkdtempSync(path.join(tmpdir(), "sot-observability-"));
  });
  afterAll(async () => {
    await db?.drop();
    rmSync(scratch, { recursive: true, force: true });
  });

  it("promtool accepts the scrape configuration and the rules, and the rules pass their unit tests", () => {
    // The configuration reads the token from a file on the Prometheus machine: point it at a scratch one.
    const token = path.join(scratch, "token");
    writeFileSync(token, "t".repeat(32));
    writeFileSync(path.join(scratch, "sot-alerts.yml"), read("sot-alerts.yml"));
    writeFileSync(path.join(scratch, "prometheus.yml"), read("prometheus.yml").replaceAll("/etc/prometheus/sot-metrics-token", token));
    expect(promtool("check", "config", path.join(scratch, "prometheus.yml"))).toMatch(/SUCCESS: 1 rule files found[\s\S]*SUCCESS: 10 rules found/);
    expect(promtool("test", "rules", "tests/sot-alerts.test.yml")).toContain("SUCCESS");
  });

  it("every dashboard query is valid PromQL (promtool parses each as a recording rule)", () => {
    expect(dashboardQueries.length).toBeGreaterThan(10);
    const rules = ["groups:", "  - name: dashboard", "    rules:"];
    dashboardQueries.forEach((q, i) => rules.push(`      - record: dashboard:query_${i}`, `        expr: ${JSON.stringify(q.expr)}`));
    writeFileSync(path.join(scratch, "dashboard-queries.yml"), rules.join("\n") + "\n");
    expect(promtool("check", "rules", path.join(scratch, "dashboard-queries.yml"))).toContain(`SUCCESS: ${dashboardQueries.length} rules found`);
  });

  it("the alert rules and the dashboard name only metrics the app serves", async () => {
    const served = new Set([...exposed(await renderMetrics(db)), ...exposed(renderProcessMetrics("ingest"))]);
    expect(alertExprs.length).toBe(10);
    const unknown: string[] = [];
    for (const { where, expr } of [...alertExprs.map((expr) => ({ where: "alert rule", expr })), ...dashboardQueries.map((q) => ({ where: `panel "${q.panel}"`, expr: q.expr }))]) {
      for (const name of metricNames(expr)) if (!served.has(name)) unknown.push(`${where}: ${name}`);
    }
    expect(unknown).toEqual([]);
    // The check can fail: a name the app does not serve is caught.
    expect(metricNames("rate(sot_no_such_metric_total[5m])").every((n) => served.has(n))).toBe(false);
  });

  it("reports the last good and failed backup, running imports' pages and the evaluation target from the database", async () => {
    let text = await renderMetrics(db);
    // Nothing yet: no timestamp (the "never succeeded" rule relies on its absence), zero counts.
    expect(text).not.toMatch(/^sot_backup_last_success_timestamp_seconds /m);
    expect(text).toContain('sot_backups_last_day{status="succeeded"} 0');
    expect(text).toContain("sot_imports_running 0");
    expect(text).toContain("sot_evaluation_target_score 4");

    const ok = new Date(Date.now() - 3_600_000);
    const bad = new Date(Date.now() - 60_000);
    await db.prisma.backup.create({ data: { trigger: "schedule", target: "folder x", status: "succeeded", finishedAt: new Date(Date.now() - 3 * 86_400_000) } });
    await db.prisma.backup.create({ data: { trigger: "schedule", target: "folder x", status: "succeeded", finishedAt: ok } });
    await db.prisma.backup.create({ data: { trigger: "schedule", target: "folder x", status: "failed", finishedAt: bad } });
    await db.prisma.backup.create({ data: { trigger: "manual", target: "folder x", status: "running" } });
    const collection = await makeCollection(db, { slug: "ops", name: "Ops" });
    const source = await makeSource(db, { collectionId: collection.id, kind: "notion", name: "wiki" });
    await db.prisma.importJob.create({ data: { sourceId: source.id, kind: "full", status: "running", found: 120, done: 45, failed: 2 } });
    await db.prisma.importJob.create({ data: { sourceId: source.id, kind: "pages", status: "running", found: 3, done: 1 } });
    await db.prisma.importJob.create({ data: { sourceId: source.id, kind: "full", status: "succeeded", found: 999, done: 999 } });

    text = await renderMetrics(db);
    const unix = (d: Date) => Math.floor(d.getTime() / 1000);
    expect(text).toContain(`sot_backup_last_success_timestamp_seconds ${unix(ok)}`);
    expect(text).toContain(`sot_backup_last_failure_timestamp_seconds ${unix(bad)}`);
    expect(text).toContain('sot_backups_last_day{status="succeeded"} 1');
    expect(text).toContain('sot_backups_last_day{status="failed"} 1');
    expect(text).toContain("sot_imports_running 2");
    expect(text).toContain('sot_import_pages{state="found"} 123');
    expect(text).toContain('sot_import_pages{state="done"} 46');
    expect(text).toContain('sot_import_pages{state="failed"} 2');
  });

  it("a worker's metrics port serves its own counters with the token only, and needs the token to be set", async () => {
    expect(() => parseConfig({ WORKER_METRICS_PORT: "9461" })).toThrow(/METRICS_TOKEN is required when WORKER_METRICS_PORT is set/);
    const token = "m".repeat(24);
    const saved = { port: process.env.WORKER_METRICS_PORT, token: process.env.METRICS_TOKEN };
    process.env.WORKER_METRICS_PORT = String(20_000 + Math.floor(Math.random() * 20_000));
    process.env.METRICS_TOKEN = token;
    resetConfig();
    const server = await startWorkerMetrics("evaluate");
    try {
      const url = `http://127.0.0.1:${process.env.WORKER_METRICS_PORT}`;
      expect((await fetch(`${url}/metrics`)).status).toBe(401);
      expect((await fetch(`${url}/metrics`, { headers: { authorization: "Bearer wrong-token-of-24-chars!!" } })).status).toBe(401);
      expect((await fetch(`${url}/other`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(404);
      const res = await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${token}` } });
      expect(res.status).toBe(200);
      const body = await res.text();
      expect(body).toContain("# TYPE sot_model_tokens_total counter");
      expect(body).toMatch(/^sot_process_uptime_seconds\{role="evaluate"\} \d+$/m);
      // The database gauges are the web process's alone: not summed once per process.
      expect(body).not.toContain("sot_queue_depth");
    } finally {
      server?.close();
      process.env.WORKER_METRICS_PORT = saved.port;
      process.env.METRICS_TOKEN = saved.token;
      if (saved.port === undefined) delete process.env.WORKER_METRICS_PORT;
      if (saved.token === undefined) delete process.env.METRICS_TOKEN;
      resetConfig();
    }
  });
});
