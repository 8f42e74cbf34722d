// The rerank worker: `npm run worker:rerank`. Starts the HTTP service of lib/retrieve/rerank-service.ts
// with the configured backend (local ONNX cross-encoder, or a forwarded llama.cpp/TEI endpoint).
import { getConfig } from "@/lib/config";
import { log } from "@/lib/log";
import { startWorkerMetrics } from "@/lib/metrics-server";
import { createRerankBackend, startRerankServer } from "@/lib/retrieve/rerank-service";

const config = getConfig();
const backend = await createRerankBackend(config);
const server = await startRerankServer(backend, { host: config.RERANK_HOST, port: config.RERANK_PORT });
await startWorkerMetrics("rerank");
if (backend.problem) {
  log("error", "rerank worker has no model: /rerank answers 503 until this is fixed", { problem: backend.problem, url: server.url });
  console.error(`rerank worker: ${backend.problem}`);
} else {
  log("info", "rerank worker listening", { url: server.url, backend: backend.kind, model: backend.model });
}
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => void server.close().then(() => process.exit(0)));
}
