// The rerank worker's HTTP contract (forwarding to llama.cpp / TEI, a missing model folder, bad input)
// and the app side: reranked order, the time limit, and the fallback to the fused order.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ask } from "@/lib/answer";
import type { Principal } from "@/lib/auth/roles";
import { retrieve } from "@/lib/retrieve";
import { createRerankBackend, startRerankServer, type RerankServer } from "@/lib/retrieve/rerank-service";
import { startFakeRerankUpstream, type FakeRerankUpstream } from "@/tests/fakes/rerank-upstream";
import { addCollection, addPages, contextOf, makePrincipal, setEnv, startAskEnv, stopAskEnv, WIKI } from "@/tests/integration/ask-fixtures";

const post = (url: string, body: unknown) =>
  fetch(`${url}/rerank`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });

describe("rerank worker HTTP contract", () => {
  let upstream: FakeRerankUpstream;
  const servers: RerankServer[] = [];
  beforeAll(async () => {
    upstream = await startFakeRerankUpstream();
  });
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.close()));
    await upstream.close();
  });

  it("says clearly that the model folder is missing, on /health and on /rerank", async () => {
    const backend = await createRerankBackend({ RERANK_MODEL_DIR: "/nonexistent/mxbai-rerank-base-v1", RERANK_FORWARD_KIND: "llamacpp" });
    const server = await startRerankServer(backend);
    servers.push(server);
    const health = await fetch(`${server.url}/health`);
    expect(health.status).toBe(503);
    const h = await health.json();
    expect(h.ok).toBe(false);
    expect(h.problem).toMatch(/No rerank model folder at \/nonexistent\/mxbai-rerank-base-v1/);
    expect(h.problem).toMatch(/RERANK_FORWARD_URL/);
    const res = await post(server.url, { query: "q", documents: ["a", "b"] });
    expect(res.status).toBe(503);
    expect((await res.json()).error).toMatch(/No rerank model folder/);
  });

  for (const kind of ["llamacpp", "tei"] as const) {
    it(`forwards to a ${kind} endpoint and answers best first, cut to top_n`, async () => {
      const server = await startRerankServer(await createRerankBackend({ RERANK_MODEL_DIR: "x", RERANK_FORWARD_URL: upstream.url, RERANK_FORWARD_KIND: kind }));
      servers.push(server);
      const res = await post(server.url, {
        query: "rollback release pipeline",
        documents: ["holiday allowance", "run the rollback job in the release pipeline", "rollback notes"],
        top_n: 2,
      });
      expect(res.status).toBe(200);
      const body = await res.json();
      expect(body.results.map((r: { index: number }) => r.index)).toEqual([1, 2]);
      expect(body.results[0].score).toBeCloseTo(1);
      expect(upstream.calls.at(-1)!.path).toBe(kind === "llamacpp" ? "/v1/rerank" : "/rerank");
    });
  }

  it("refuses bad input with 400 naming the problem", async () => {
    const server = await startRerankServer(await createRerankBackend({ RERANK_MODEL_DIR: "x", RERANK_FORWARD_URL: upstream.url, RERANK_FORWARD_KIND: "tei" }));
    servers.push(server);
    const noQuery = await post(server.url, { query: "", documents: ["a"] });
    expect(noQuery.status).toBe(400);
    expect((await noQuery.json()).error).toMatch(/query must not be empty/);
    const badDocs = await post(server.url, { query: "q", documents: "a" });
    expect(badDocs.status).toBe(400);
    expect((await badDocs.json()).error).toMatch(/documents/);
    const notJson = await fetch(`${server.url}/rerank`, { method: "POST", body: "{" });
    expect(notJson.status).toBe(400);
  });
});

describe("reranking in retrieval", () => {
  let env: Awaited<ReturnType<typeof startAskEnv>>;
  let upstream: FakeRerankUpstream;
  let worker: RerankServer;
  let viewer: Principal;
  beforeAll(async () => {
    upstream = await startFakeRerankUpstream();
    worker = await startRerankServer(await createRerankBackend({ RERANK_MODEL_DIR: "x", RERANK_FORWARD_URL: upstream.url, RERANK_FORWARD_KIND: "llamacpp" }));
    env = await startAskEnv({ env: { RERANK_URL: worker.url, RERANK_TIMEOUT_MS: "300" } });
    viewer = await makePrincipal(env.db);
    await addPages(env.db, await addCollection(env.db, "main"), WIKI);
  }, 120_000);
  afterAll(async () => {
    await stopAskEnv(env);
    await worker.close();
    await upstream.close();
  });

  it("orders candidates by the reranker's scores and reports it", async () => {
    upstream.options.delayMs = 0;
    const r = await retrieve("how do I roll back a release in the pipeline", { collectionIds: null });
    expect(r.rerank).toEqual({ status: "reranked", model: `llamacpp at ${upstream.url}` });
    const scores = r.candidates.map((c) => c.rerankScore!);
    expect(scores).toEqual([...scores].sort((a, b) => b - a));
    expect(r.candidates.map((c) => c.rank)).toEqual(r.candidates.map((_, i) => i + 1));
    // The worker saw title and section with each passage.
    expect(upstream.calls.at(-1)!.body.documents.some((d: string) => d.startsWith("Deployment guide › Rollback\n"))).toBe(true);
  });

  it("keeps the fused order when the reranker is too slow, and says so in the answer's payload", async () => {
    upstream.options.delayMs = 2000;
    try {
      const r = await ask(await contextOf(env.db, viewer), { question: "how do I roll back a release", stream: false });
      expect(r.rerank.status).toBe("unavailable");
      expect(r.rerank.reason).toMatch(/within 300 ms/);
      expect(r.sources.map((s) => s.ranks.fused)).toEqual(r.sources.map((s) => s.ranks.final));
      expect(r.answer).toMatch(/rollback job/);
    } finally {
      upstream.options.delayMs = 0;
    }
  });

  it("keeps the fused order when the worker is down", async () => {
    setEnv({ RERANK_URL: "http://127.0.0.1:9" });
    try {
      const r = await retrieve("holiday allowance", { collectionIds: null });
      expect(r.rerank.status).toBe("unavailable");
      expect(r.rerank.reason).toMatch(/unreachable/);
      expect(r.candidates[0]!.rerankScore).toBeNull();
      expect(r.candidates.map((c) => c.rank)).toEqual(r.candidates.map((c) => c.fusedRank));
    } finally {
      setEnv({ RERANK_URL: worker.url });
    }
  });
});
