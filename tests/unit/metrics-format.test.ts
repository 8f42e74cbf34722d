import { describe, expect, it } from "vitest";
import type { Db } from "@/lib/db/client";
import { observeHttpRequest, observeModel, observeRetrieval, observeUsage, renderMetrics, routePattern } from "@/lib/metrics";

// A database whose queries fail: the in-process metrics must still render (gauges read at scrape time are skipped).
const downDb = { prisma: { $queryRawUnsafe: async () => { throw new Error("down"); } } } as unknown as Db;

describe("metrics", () => {
  it("labels requests by route pattern, never by the concrete id", () => {
    expect(routePattern("/api/schedules/5b1d0d9e-0000-4000-8000-000000000001/history", { id: "5b1d0d9e-0000-4000-8000-000000000001" })).toBe("/api/schedules/[id]/history");
    expect(routePattern("/api/nope/a/b", { path: ["nope", "a", "b"] })).toBe("/api/[...path]");
    expect(routePattern("/api/health", undefined)).toBe("/api/health");
  });

  it("renders Prometheus text with histogram buckets, sums and counters", async () => {
    observeHttpRequest("GET", "/api/test-route", 200, 0.02);
    observeHttpRequest("GET", "/api/test-route", 200, 3);
    observeRetrieval("vector", 0.04);
    observeModel({ model: "m\"x", op: "chat", phase: "first_token", seconds: 0.7 });
    observeUsage({ model: "m1", op: "chat", ok: true, promptTokens: 120, completionTokens: 30, gpuSeconds: 1.5, loadSeconds: 0 });
    observeUsage({ model: "m1", op: "embed", ok: true, promptTokens: 5, completionTokens: 0, gpuSeconds: 0.25, loadSeconds: 2 });
    const text = await renderMetrics(downDb);
    expect(text).toContain("# TYPE sot_http_request_duration_seconds histogram");
    expect(text).toContain('sot_http_request_duration_seconds_bucket{method="GET",route="/api/test-route",status="200",le="0.025"} 1');
    expect(text).toContain('sot_http_request_duration_seconds_bucket{method="GET",route="/api/test-route",status="200",le="+Inf"} 2');
    expect(text).toContain('sot_http_request_duration_seconds_count{method="GET",route="/api/test-route",status="200"} 2');
    expect(text).toMatch(/sot_http_request_duration_seconds_sum\{method="GET",route="\/api\/test-route",status="200"\} 3\.02/);
    expect(text).toContain('sot_retrieval_duration_seconds_count{stage="vector"} 1');
    // Label values are escaped.
    expect(text).toContain('model="m\\"x"');
    expect(text).toContain('sot_model_tokens_total{model="m1",type="prompt"} 125');
    expect(text).toContain('sot_model_tokens_total{model="m1",type="completion"} 30');
    expect(text).toContain('sot_model_calls_total{model="m1",op="chat",outcome="ok"} 1');
    expect(text).toContain('sot_model_gpu_seconds_total{model="m1",op="embed"} 0.25');
    expect(text).toContain('sot_model_load_seconds_total{model="m1"} 2');
    expect(text).toContain("# TYPE sot_queue_depth gauge");
    // Every sample line is `name{labels} number`.
    for (const line of text.trim().split("\n").filter((l) => !l.startsWith("#"))) {
      expect(line).toMatch(/^[a-z_]+(\{.*\})? -?[0-9.e+]+$/);
    }
  });
});
