// A worker's own metrics port: workers are not web processes, so what they count (model calls, tokens,
// job failures) would otherwise never reach Prometheus. Same token as GET /api/metrics.
import { timingSafeEqual } from "node:crypto";
import { createServer, type Server } from "node:http";
import { getConfig } from "./config";
import { log } from "./log";
import { renderProcessMetrics } from "./metrics";

function bearerMatches(header: string | undefined, token: string): boolean {
  const m = /^Bearer\s+(\S+)$/i.exec(header ?? "");
  if (!m) return false;
  const a = Buffer.from(m[1]!);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Starts the metrics port when WORKER_METRICS_PORT is set; null otherwise. */
export async function startWorkerMetrics(role: string): Promise<Server | null> {
  const { WORKER_METRICS_PORT: port, WORKER_METRICS_HOST: host, METRICS_TOKEN: token } = getConfig();
  if (!port || !token) return null;
  const server = createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    if (req.method !== "GET" || path !== "/metrics") {
      res.writeHead(404, { "content-type": "text/plain" }).end("Only GET /metrics is served here.\n");
      return;
    }
    if (!bearerMatches(req.headers.authorization, token)) {
      res.writeHead(401, { "content-type": "text/plain", "www-authenticate": "Bearer" }).end("Send the metrics token: Authorization: Bearer $METRICS_TOKEN\n");
      return;
    }
    res.writeHead(200, { "content-type": "text/plain; version=0.0.4; charset=utf-8", "cache-control": "no-store" }).end(renderProcessMetrics(role));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve());
  });
  log("info", "worker metrics listening", { role, url: `http://${host}:${port}/metrics` });
  return server;
}
