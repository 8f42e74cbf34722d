// npm run bench:openai — what the OpenAI-compatible path costs over SOT's own: the same questions, streamed,
// through POST /v1/chat/completions (model `sot`) and through POST /api/evaluate, against the built app on
// PostgreSQL over the synthetic corpus with the fake Ollama (as bench:ask), with 1 and 8 callers at once.
// The fake model answers at once with a fixed cited answer: what is left to differ is each path's own
// work (parsing, model lookup, chunk framing, annotations), not the model's pace.
//
// The paths run in rotating blocks (the same questions through /api/evaluate, through /v1 and through
// /api/evaluate once more, the order rotating each block), so drift in the machine's load hits each alike.
// The second /api/evaluate is the control: its difference from the first is the measurement's noise floor,
// which is what any difference between the two paths has to be read against. Printed for the time to the
// first token and to the end of the answer: each path's median and p95, the difference of the medians and
// of the p95s, and the median and p95 of the per-question differences (whose p95 is mostly the spread of
// two separate requests' latencies). The web process's own CPU time is printed too, since other processes'
// load hardly moves it: per request with one caller (so its median and p95 are the target's figures on a
// shared machine), and per block with eight.
//
// Environment: BENCH_CHUNKS (default 20000), BENCH_REQUESTS (per path and level, default 128), BENCH_DATABASE_URL.
import { readSse } from "@/lib/answer/sse";
import { DEFAULT_FAKE_MODELS, startFakeOllama } from "@/tests/fakes/ollama";
import { startApp } from "@/tests/helpers/app";
import { makeApiKey } from "@/tests/helpers/auth";
import { fmt, loadAverage, machine, percentile, processCpu, scratchDb, serverSettings, threadCpuMs } from "./lib";
import { loadSynthetic, SYNTHETIC_EMBED_MODEL } from "./synthetic";

const N = Number(process.env.BENCH_CHUNKS ?? 20_000);
const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 128);
/** 33 tokens, four citations. */
const ANSWER = "The first part of the answer comes from this page [1]. The second part follows from another one [2]. Both pages agree on the rest of it [1][2].";

interface Timing {
  firstTokenMs: number;
  totalMs: number;
  /** The web process's CPU time for this request (one caller at a time only). */
  cpuMs?: number;
}

/** POST /api/evaluate, streamed: request → first `token` event, and → the `done` event. */
async function viaEvaluate(baseUrl: string, headers: Record<string, string>, question: string): Promise<Timing> {
  const started = performance.now();
  const res = await fetch(`${baseUrl}/api/evaluate`, { method: "POST", headers: { ...headers, "content-type": "application/json" }, body: JSON.stringify({ question }) });
  if (!res.ok || !res.body) throw new Error(`/api/evaluate failed: ${res.status} ${await res.text()}`);
  let first = -1;
  for await (const { event } of readSse(res.body)) {
    if (event === "token" && first < 0) first = performance.now() - started;
    if (event === "done") return { firstTokenMs: first, totalMs: performance.now() - started };
  }
  throw new Error("/api/evaluate: no done event");
}

/** POST /v1/chat/completions, streamed: request → first content chunk, and → `data: [DONE]`. */
async function viaOpenAi(baseUrl: string, headers: Record<string, string>, question: string): Promise<Timing> {
  const started = performance.now();
  const res = await fetch(`${baseUrl}/v1/chat/completions`, {
    method: "POST",
    headers: { ...headers, "content-type": "application/json" },
    body: JSON.stringify({ model: "sot", stream: true, messages: [{ role: "user", content: question }] }),
  });
  if (!res.ok || !res.body) throw new Error(`/v1/chat/completions failed: ${res.status} ${await res.text()}`);
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let buf = "";
  let first = -1;
  for (;;) {
    const { done, value } = await reader.read();
    if (value) buf += decoder.decode(value, { stream: true });
    let i;
    while ((i = buf.indexOf("\n\n")) >= 0) {
      const data = buf.slice(0, i).replace(/^data: /, "");
      buf = buf.slice(i + 2);
      if (data === "[DONE]") return { firstTokenMs: first, totalMs: performance.now() - started };
      if (first < 0 && JSON.parse(data).choices[0]?.delta?.content) first = performance.now() - started;
    }
    if (done) throw new Error("/v1/chat/completions: no [DONE]");
  }
}

async function main() {
  console.log(`bench:openai — ${N} chunks, fake Ollama answering at once with a fixed cited answer (${ANSWER.split(" ").length} tokens)`);
  console.log(machine());
  console.log(`load average (1/5/15 min): ${loadAverage()}`);
  const ollama = await startFakeOllama({ onChat: (req) => (req.format ? undefined : ANSWER), models: [...DEFAULT_FAKE_MODELS, SYNTHETIC_EMBED_MODEL] });
  const scratch = await scratchDb("openai");
  const { queries } = await loadSynthetic(scratch.db, N, 200);
  console.log(await serverSettings(scratch.db));
  const app = await startApp({
    db: { ...scratch.db, url: scratch.url, drop: async () => {} },
    env: { OLLAMA_HOST: ollama.url, OLLAMA_EMBED_MODEL: SYNTHETIC_EMBED_MODEL, DEMO_WIKI: "false", RATE_LIMIT_PER_MINUTE: "1000000", RATE_LIMIT_BURST: "1000000", DATABASE_POOL_SIZE: "40", LOG_LEVEL: "error" },
  });
  try {
    const { headers } = await makeApiKey(scratch.db, ["ask"]);
    const paths = { evaluate: viaEvaluate, v1: viaOpenAi, control: viaEvaluate } as const;
    type Path = keyof typeof paths;
    const pid = app.process.pid!;
    const cpu: Record<Path, number> = { evaluate: 0, v1: 0, control: 0 };
    let cpuTarget: number[] = [];
    /** The questions through one path with `concurrency` callers; timings by question. */
    const block = async (path: Path, qs: string[], concurrency: number): Promise<Timing[]> => {
      const out: Timing[] = new Array(qs.length);
      const cpuBefore = (await processCpu(pid))! * 1000;
      let next = 0;
      await Promise.all(
        Array.from({ length: concurrency }, async () => {
          while (next < qs.length) {
            const i = next++;
            // One caller: everything the web process does meanwhile is this request's.
            const before = concurrency === 1 ? threadCpuMs(pid) : 0;
            out[i] = await paths[path](app.baseUrl, headers, qs[i]!);
            if (concurrency === 1) out[i]!.cpuMs = threadCpuMs(pid) - before;
          }
        }),
      );
      cpu[path] += (await processCpu(pid))! * 1000 - cpuBefore;
      return out;
    };
    // Warm-up: compile both routes, fill pools and caches.
    for (const path of ["evaluate", "v1"] as const) await block(path, queries.slice(0, 8).map((q) => q.text), 2);
    const blockSize = 16;
    const rotations: Path[][] = [
      ["evaluate", "v1", "control"],
      ["v1", "control", "evaluate"],
      ["control", "evaluate", "v1"],
    ];
    for (const concurrency of [1, 8]) {
      for (const path of ["evaluate", "v1"] as const) await block(path, queries.slice(0, concurrency).map((q) => q.text), concurrency);
      const got: Record<Path, Timing[]> = { evaluate: [], v1: [], control: [] };
      cpu.evaluate = cpu.v1 = cpu.control = 0;
      for (let b = 0; b * blockSize < REQUESTS; b++) {
        const qs = Array.from({ length: blockSize }, (_, i) => queries[(b * blockSize + i) % queries.length]!.text);
        for (const path of rotations[b % rotations.length]!) got[path].push(...(await block(path, qs, concurrency)));
      }
      const n = got.evaluate.length;
      console.log(`${concurrency} concurrent caller${concurrency > 1 ? "s" : ""} (${n} requests per path):`);
      for (const [label, f] of [["first token", (t: Timing) => t.firstTokenMs], ["whole answer", (t: Timing) => t.totalMs]] as const) {
        const e = got.evaluate.map(f);
        const compare = (name: string, other: number[]) => {
          const diff = other.map((x, i) => x - e[i]!);
          const d = (p: number) => fmt(percentile(other, p) - percentile(e, p), 1);
          return `${name} p50 ${fmt(percentile(other, 50), 1)} / p95 ${fmt(percentile(other, 95), 1)} ms → difference p50 ${d(50)} ms, p95 ${d(95)} ms (per question: p50 ${fmt(percentile(diff, 50), 1)}, p95 ${fmt(percentile(diff, 95), 1)} ms)`;
        };
        console.log(`   ${label}: evaluate p50 ${fmt(percentile(e, 50), 1)} / p95 ${fmt(percentile(e, 95), 1)} ms`);
        console.log(`      v1      ${compare("", got.v1.map(f)).trim()}`);
        console.log(`      control ${compare("", got.control.map(f)).trim()}`);
      }
      if (concurrency === 1) {
        // Per request, so medians and p95s: the web process's own work, which other processes' load
        // hardly changes (it waits for the CPU, it does not do more).
        const c = (path: Path) => got[path].map((t) => t.cpuMs!);
        const line = (path: Path) => {
          const d = (p: number) => fmt(percentile(c(path), p) - percentile(c("evaluate"), p), 2);
          return `${path} p50 ${fmt(percentile(c(path), 50), 2)} / p95 ${fmt(percentile(c(path), 95), 2)} ms → difference p50 ${d(50)} ms, p95 ${d(95)} ms`;
        };
        cpuTarget = [percentile(c("v1"), 50) - percentile(c("evaluate"), 50), percentile(c("v1"), 95) - percentile(c("evaluate"), 95)];
        console.log(`   web process CPU per request: evaluate p50 ${fmt(percentile(c("evaluate"), 50), 2)} / p95 ${fmt(percentile(c("evaluate"), 95), 2)} ms`);
        console.log(`      ${line("v1")}`);
        console.log(`      ${line("control")}`);
        continue;
      }
      const per = (path: Path) => cpu[path] / n;
      console.log(
        `   web process CPU per request: evaluate ${fmt(per("evaluate"), 2)} ms, v1 ${fmt(per("v1"), 2)} ms (difference ${fmt(per("v1") - per("evaluate"), 2)} ms), ` +
          `control ${fmt(per("control"), 2)} ms (difference ${fmt(per("control") - per("evaluate"), 2)} ms)`,
      );
    }
    console.log("target: median and p95 of the v1 difference under 10 ms (latency: read against the control's, the noise floor)");
    const met = cpuTarget.every((d) => d < 10);
    console.log(`   web process CPU, one caller: v1 − evaluate p50 ${fmt(cpuTarget[0]!, 2)} ms, p95 ${fmt(cpuTarget[1]!, 2)} ms → ${met ? "met" : "NOT met"}`);
    console.log(`load average after (1/5/15 min): ${loadAverage()}`);
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
