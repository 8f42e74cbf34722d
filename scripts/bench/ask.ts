// npm run bench:ask — concurrent askers (1, 8, 32) against the built app (`next build` output served by
// scripts/serve.ts on PostgreSQL) over the synthetic corpus, with the fake Ollama streaming at a fixed
// rate. Reports the app's own overhead before the first token: (request sent → first `token` SSE event
// received) minus the fake model's fixed first-token delay, p50/p95 per concurrency level.
//
// Environment: BENCH_CHUNKS (default 100000), BENCH_REQUESTS (requests per level, default 64),
// BENCH_ASKERS (the concurrency levels, default 1,8,32), BENCH_POOL_SIZE (the web process's DATABASE_POOL_SIZE;
// default: the app's own, as deployed — a larger pool opens more backends, each faulting in the shared buffers),
// BENCH_DATABASE_URL, BENCH_CPU_PROFILE=<folder> (the web process writes a V8 CPU profile there when it
// stops: open it in Chrome's DevTools, Performance tab).
import { readSse } from "@/lib/answer/sse";
import { DEFAULT_FAKE_MODELS, startFakeOllama } from "@/tests/fakes/ollama";
import { startApp } from "@/tests/helpers/app";
import { makeApiKey } from "@/tests/helpers/auth";
import { backendCpu, backendStats, cpuOf, cpuSince, faultsSince, fmt, loadAverage, machine, pageAccesses, percentile, processStat, scratchDb, searchFootprint, serverSettings, threadCpuMs } from "./lib";
import { loadSynthetic, SYNTHETIC_EMBED_MODEL } from "./synthetic";

const N = Number(process.env.BENCH_CHUNKS ?? 100_000);
const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 64);
const LEVELS = (process.env.BENCH_ASKERS ?? "1,8,32").split(",").map(Number);
const FIRST_TOKEN_DELAY_MS = 200;
const TOKEN_DELAY_MS = 20;

interface Sample {
  /** Request sent → first token event received, as the client sees it. */
  firstTokenMs: number;
  /** The server's own timings from the final event (lib/answer: since the pipeline started). */
  server: { embedMs: number; retrieveMs: number; rerankMs: number; firstTokenMs: number | null };
}

async function askOnce(baseUrl: string, headers: Record<string, string>, question: string): Promise<Sample> {
  const started = performance.now();
  const res = await fetch(`${baseUrl}/api/evaluate`, {
    method: "POST",
    headers: { ...headers, "content-type": "application/json" },
    body: JSON.stringify({ question }),
  });
  if (!res.ok || !res.body) throw new Error(`ask failed: ${res.status} ${await res.text()}`);
  let first = -1;
  let server: Sample["server"] | null = null;
  for await (const { event, data } of readSse(res.body)) {
    if (event === "token" && first < 0) first = performance.now() - started;
    if (event === "done") server = (data as { timings: Sample["server"] }).timings;
  }
  if (first < 0) throw new Error("no token event");
  if (!server) throw new Error("no done event");
  return { firstTokenMs: first, server };
}

async function main() {
  console.log(`bench:ask — ${N} chunks, fake Ollama: first token after ${FIRST_TOKEN_DELAY_MS} ms, then one token every ${TOKEN_DELAY_MS} ms`);
  console.log(machine());
  const scratch = await scratchDb("ask");
  const { queries } = await loadSynthetic(scratch.db, N, 200);
  // Each question is embedded as bench:retrieval embeds it: its source chunk's vector plus a little noise,
  // i.e. among the chunks, as a real embedder places a question near the passages that share its words.
  // (The fake's hashed word features would point away from every synthetic cluster, a query no real
  // embedder produces, and make the HNSW stage search longer than it would in production.)
  const vectors = new Map(queries.map((q) => [q.text, q.vector]));
  const ollama = await startFakeOllama({
    firstTokenDelayMs: FIRST_TOKEN_DELAY_MS,
    tokenDelayMs: TOKEN_DELAY_MS,
    models: [...DEFAULT_FAKE_MODELS, SYNTHETIC_EMBED_MODEL],
    embedding: (text) => vectors.get(text),
  });
  console.log(await serverSettings(scratch.db));
  console.log(await searchFootprint(scratch.db));
  // Queries carry words of real chunks so the extractive fake model answers (and streams) from its sources.
  const app = await startApp({
    db: { ...scratch.db, url: scratch.url, drop: async () => {} },
    nodeArgs: process.env.BENCH_CPU_PROFILE ? ["--cpu-prof", `--cpu-prof-dir=${process.env.BENCH_CPU_PROFILE}`] : [],
    env: { OLLAMA_HOST: ollama.url, OLLAMA_EMBED_MODEL: SYNTHETIC_EMBED_MODEL, DEMO_WIKI: "false", RATE_LIMIT_PER_MINUTE: "1000000", RATE_LIMIT_BURST: "1000000", LOG_LEVEL: "error", ...(process.env.BENCH_POOL_SIZE ? { DATABASE_POOL_SIZE: process.env.BENCH_POOL_SIZE } : {}) },
  });
  try {
    const key = await makeApiKey(scratch.db, ["ask"]);
    // Warm-up: compile routes, fill pools and caches.
    for (let i = 0; i < 5; i++) await askOnce(app.baseUrl, key.headers, queries[i]!.text);
    for (const concurrency of LEVELS) {
      // One unmeasured round at this concurrency first: the app's pool opens the connections it needs
      // (a new PostgreSQL backend's first queries are slow) — the figures are for steady traffic.
      await Promise.all(queries.slice(0, concurrency).map((q) => askOnce(app.baseUrl, key.headers, q.text)));
      const overheads: number[] = [];
      const samples: Sample[] = [];
      const appPid = app.process.pid!;
      // The web process runs the job workers too (WORKERS_IN_PROCESS), whose polling costs the database CPU
      // per second, not per ask: measured over a few idle seconds first, so it can be told apart below.
      const idleMs = 5000;
      const idleBefore = await backendCpu(scratch.db);
      await new Promise((resolve) => setTimeout(resolve, idleMs));
      const idleCpuPerMs = (cpuSince(idleBefore, await backendCpu(scratch.db)) ?? NaN) / idleMs;
      const levelStarted = performance.now();
      const backendsBefore = await backendStats(scratch.db);
      const webCpuBefore = threadCpuMs(appPid);
      const webBefore = await processStat(appPid);
      const pagesBefore = await pageAccesses(scratch.db);
      let next = 0;
      await Promise.all(
        Array.from({ length: concurrency }, async () => {
          while (next < REQUESTS) {
            const q = queries[next++ % queries.length]!;
            const sample = await askOnce(app.baseUrl, key.headers, q.text);
            samples.push(sample);
            overheads.push(sample.firstTokenMs - FIRST_TOKEN_DELAY_MS);
          }
        }),
      );
      console.log(
        `${String(concurrency).padStart(2)} concurrent askers: overhead before first token p50 ${fmt(percentile(overheads, 50), 1)} ms, p95 ${fmt(percentile(overheads, 95), 1)} ms (${overheads.length} requests)`,
      );
      // Where the time goes (medians): the question's embedding, the hybrid SQL, and what is left for
      // HTTP, authentication and the route (client-seen first token minus the server's own).
      const med = (f: (s: Sample) => number) => fmt(percentile(samples.map(f), 50), 1);
      console.log(
        `   medians: embed ${med((s) => s.server.embedMs)} ms, hybrid search ${med((s) => s.server.retrieveMs)} ms, ` +
          `server before first token (minus model) ${med((s) => (s.server.firstTokenMs ?? 0) - FIRST_TOKEN_DELAY_MS)} ms, ` +
          `HTTP + auth + route ${med((s) => s.firstTokenMs - (s.server.firstTokenMs ?? 0))} ms`,
      );
      // CPU time per ask (the whole answer, logging included): on two shared cores, latency under
      // concurrency is mostly this demand queueing for a core, and unlike latency it hardly moves with
      // what else the machine is doing — so it is the figure to compare across changes.
      const web = (threadCpuMs(appPid) - webCpuBefore) / samples.length;
      const backendsAfter = await backendStats(scratch.db);
      const postgres = ((cpuSince(cpuOf(backendsBefore), cpuOf(backendsAfter)) ?? NaN) * 1000) / samples.length;
      const background = (idleCpuPerMs * 1000 * (performance.now() - levelStarted)) / samples.length;
      console.log(
        `   CPU per ask: web process ${fmt(web, 1)} ms, PostgreSQL ${fmt(postgres, 1)} ms (of which ~${fmt(background, 1)} ms the job workers' polling, ` +
          `at its idle rate of ${fmt(idleCpuPerMs * 1000 * 1000, 0)} ms per second); load average ${loadAverage()}`,
      );
      const faults = faultsSince(backendsBefore, backendsAfter);
      const webFaults = ((await processStat(appPid))?.minflt ?? NaN) - (webBefore?.minflt ?? NaN);
      // Pages per ask, and how many came from outside shared buffers: a read costs the database far more
      // CPU than a hit (the eviction of another page, a copy, a write when the victim is dirty).
      const pagesAfter = await pageAccesses(scratch.db);
      console.log(
        `   database pages per ask: ${fmt((pagesAfter.hit - pagesBefore.hit) / samples.length, 0)} found in shared buffers, ` +
          `${fmt((pagesAfter.read - pagesBefore.read) / samples.length, 0)} read from outside them`,
      );
      // Page faults: each backend maps the shared buffers page by page as it first touches (or first writes)
      // them, so new backends — a pool that grows or closes idle connections — fault again for pages the
      // others have mapped; on a virtual machine a fault costs tens of µs (docs/scale.md, "Page faults").
      if (faults) {
        console.log(
          `   PostgreSQL backends: ${faults.active} active during the level (${faults.opened} opened during it); page faults per ask: ` +
            `${fmt(faults.minflt / samples.length, 0)} minor, ${fmt(faults.majflt / samples.length, 1)} major; the web process ${fmt(webFaults / samples.length, 0)} minor`,
        );
      }
    }
    console.log("target: p95 ≤ 150 ms at 8 concurrent askers");
  } finally {
    await app.stop();
    await scratch.drop();
    await ollama.close();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
