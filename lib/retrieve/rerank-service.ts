// The rerank worker's logic (workers/rerank.ts only starts it): an HTTP service
//   POST /rerank {query, documents, top_n?} → {model, results: [{index, score}]} (best first)
//   GET  /health → {ok, backend, model, problem?}
// backed by a local ONNX cross-encoder (mxbai-rerank-base by default, through @huggingface/transformers,
// never downloading anything) or by forwarding to a llama.cpp server (/v1/rerank) or TEI (/rerank).
// Without a model folder and without a forward URL it still starts, and says exactly what is missing.
import { existsSync } from "node:fs";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { observeModel } from "../metrics";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { z } from "zod";

export interface RerankBackend {
  kind: "onnx" | "llamacpp" | "tei" | "missing";
  model: string;
  /** Why the backend cannot score (missing model folder); undefined when it can. */
  problem?: string;
  score(query: string, documents: string[], signal?: AbortSignal): Promise<number[]>;
}

export interface RerankBackendConfig {
  RERANK_MODEL_DIR: string;
  RERANK_FORWARD_URL?: string;
  RERANK_FORWARD_KIND: "llamacpp" | "tei";
}

export const rerankRequestSchema = z.object({
  query: z.string().min(1, "query must not be empty").max(8000, "query is longer than 8000 characters"),
  documents: z.array(z.string().max(20000, "a document is longer than 20000 characters")).max(500, "at most 500 documents"),
  top_n: z.number().int().min(1).optional(),
});

export async function createRerankBackend(config: RerankBackendConfig): Promise<RerankBackend> {
  if (config.RERANK_FORWARD_URL) return forwardBackend(config.RERANK_FORWARD_URL, config.RERANK_FORWARD_KIND);
  const dir = path.resolve(config.RERANK_MODEL_DIR);
  if (!existsSync(path.join(dir, "config.json"))) {
    return {
      kind: "missing",
      model: path.basename(dir),
      problem:
        `No rerank model folder at ${dir} (config.json not found). Put an ONNX cross-encoder there ` +
        `(e.g. mixedbread-ai/mxbai-rerank-base-v1: config.json, tokenizer.json, tokenizer_config.json, onnx/model_quantized.onnx), ` +
        `set RERANK_MODEL_DIR to one, or set RERANK_FORWARD_URL to a llama.cpp or TEI rerank endpoint.`,
      score: async () => {
        throw new Error("no rerank model");
      },
    };
  }
  return onnxBackend(dir);
}

async function onnxBackend(dir: string): Promise<RerankBackend> {
  const { AutoTokenizer, AutoModelForSequenceClassification, env } = await import("@huggingface/transformers");
  // Local files only: the machines have no route to a model hub, and a silent download would be worse.
  env.allowRemoteModels = false;
  env.allowLocalModels = true;
  env.localModelPath = path.dirname(dir) + path.sep;
  const name = path.basename(dir);
  const quantized = existsSync(path.join(dir, "onnx", "model_quantized.onnx"));
  const tokenizer = await AutoTokenizer.from_pretrained(name);
  const model = await AutoModelForSequenceClassification.from_pretrained(name, { dtype: quantized ? "q8" : "fp32" });
  return {
    kind: "onnx",
    model: name,
    async score(query, documents) {
      const scores: number[] = [];
      // Small batches bound memory on long candidate lists.
      for (let i = 0; i < documents.length; i += 16) {
        const docs = documents.slice(i, i + 16);
        const inputs = tokenizer(new Array(docs.length).fill(query), { text_pair: docs, padding: true, truncation: true, max_length: 512 });
        const { logits } = await model(inputs);
        const rows = logits.tolist() as number[][];
        scores.push(...rows.map((r) => 1 / (1 + Math.exp(-r[0]!))));
      }
      return scores;
    },
  };
}

function forwardBackend(url: string, kind: "llamacpp" | "tei"): RerankBackend {
  const llamaSchema = z.object({
    model: z.string().optional(),
    results: z.array(z.object({ index: z.number().int(), relevance_score: z.number() })),
  });
  const teiSchema = z.array(z.object({ index: z.number().int(), score: z.number() }));
  return {
    kind,
    model: `${kind} at ${url}`,
    async score(query, documents, signal) {
      const endpoint = new URL(kind === "llamacpp" ? "/v1/rerank" : "/rerank", url);
      const body = kind === "llamacpp" ? { query, documents, top_n: documents.length } : { query, texts: documents, raw_scores: false };
      const res = await fetch(endpoint, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body), signal });
      if (!res.ok) throw new Error(`${endpoint} answered ${res.status}`);
      const data = await res.json();
      const scores = new Array<number>(documents.length).fill(Number.NEGATIVE_INFINITY);
      if (kind === "llamacpp") for (const r of llamaSchema.parse(data).results) scores[r.index] = r.relevance_score;
      else for (const r of teiSchema.parse(data)) scores[r.index] = r.score;
      return scores;
    },
  };
}

function send(res: ServerResponse, status: number, body: unknown) {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify(body));
}

async function readBody(req: IncomingMessage, limit: number): Promise<string> {
  let size = 0;
  const parts: Buffer[] = [];
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > limit) throw Object.assign(new Error(`body larger than ${limit} bytes`), { status: 413 });
    parts.push(c as Buffer);
  }
  return Buffer.concat(parts).toString("utf8");
}

export interface RerankServer {
  url: string;
  close(): Promise<void>;
}

export async function startRerankServer(backend: RerankBackend, opts: { host?: string; port?: number } = {}): Promise<RerankServer> {
  const server = createServer(async (req, res) => {
    const p = (req.url ?? "/").split("?")[0];
    try {
      if (req.method === "GET" && p === "/health") {
        return send(res, backend.problem ? 503 : 200, { ok: !backend.problem, backend: backend.kind, model: backend.model, problem: backend.problem });
      }
      if (p !== "/rerank") return send(res, 404, { error: `unknown path ${p}: use POST /rerank or GET /health` });
      if (req.method !== "POST") return send(res, 405, { error: "use POST /rerank" });
      let json: unknown;
      try {
        json = JSON.parse(await readBody(req, 5_000_000));
      } catch (err) {
        const status = (err as { status?: number }).status ?? 400;
        return send(res, status, { error: status === 413 ? (err as Error).message : "body is not valid JSON" });
      }
      const parsed = rerankRequestSchema.safeParse(json);
      if (!parsed.success) {
        return send(res, 400, { error: parsed.error.issues.map((i) => `${i.path.join(".") || "body"}: ${i.message}`).join("; ") });
      }
      if (backend.problem) return send(res, 503, { error: backend.problem });
      const { query, documents, top_n } = parsed.data;
      const ac = new AbortController();
      res.on("close", () => ac.abort());
      const started = performance.now();
      const scores = documents.length ? await backend.score(query, documents, ac.signal) : [];
      observeModel({ model: backend.model, op: "rerank", seconds: (performance.now() - started) / 1000 });
      const results = scores
        .map((score, index) => ({ index, score }))
        .sort((a, b) => b.score - a.score)
        .slice(0, top_n ?? documents.length);
      send(res, 200, { model: backend.model, results });
    } catch (err) {
      if (!res.headersSent) send(res, 502, { error: `reranking failed: ${(err as Error).message}` });
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port ?? 0, opts.host ?? "127.0.0.1", resolve);
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${opts.host ?? "127.0.0.1"}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
