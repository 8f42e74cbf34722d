// A protocol-level fake of the rerank endpoints the rerank worker can forward to: llama.cpp server
// (POST /v1/rerank → {model, results:[{index, relevance_score}]}) and Hugging Face TEI
// (POST /rerank {query, texts} → [{index, score}]). Scores are the share of query words a document holds.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { words } from "@/tests/fakes/ollama";

export interface FakeRerankUpstream {
  url: string;
  options: { delayMs: number };
  calls: Array<{ path: string; body: any }>;
  close(): Promise<void>;
}

export function overlapScore(query: string, doc: string): number {
  const q = new Set(words(query));
  const d = new Set(words(doc));
  return q.size ? [...q].filter((w) => d.has(w)).length / q.size : 0;
}

export async function startFakeRerankUpstream(opts: { delayMs?: number } = {}): Promise<FakeRerankUpstream> {
  const options = { delayMs: opts.delayMs ?? 0 };
  const calls: FakeRerankUpstream["calls"] = [];
  const server: Server = createServer(async (req, res) => {
    const parts: Buffer[] = [];
    for await (const c of req) parts.push(c as Buffer);
    const body = JSON.parse(Buffer.concat(parts).toString("utf8") || "{}");
    const path = req.url ?? "/";
    calls.push({ path, body });
    if (options.delayMs) await new Promise((r) => setTimeout(r, options.delayMs));
    res.setHeader("content-type", "application/json");
    if (path === "/v1/rerank") {
      const results = (body.documents as string[]).map((d, index) => ({ index, relevance_score: overlapScore(body.query, d) }));
      return res.end(JSON.stringify({ model: "fake-reranker", object: "list", results }));
    }
    if (path === "/rerank") {
      return res.end(JSON.stringify((body.texts as string[]).map((t, index) => ({ index, score: overlapScore(body.query, t) }))));
    }
    res.statusCode = 404;
    res.end(JSON.stringify({ error: "not found" }));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    options,
    calls,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
