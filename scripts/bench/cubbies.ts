// What cubbies cost through SOT's HTTP API: get and set of 1 KB and 64 KB values by 1 and 8 concurrent
// agents (each with its own token, through lib/cubbies/client.ts), the built app on a scratch PostgreSQL
// database and KES as its own process on loopback (the web process holds no master key). Every call
// resolves the agent's token in the web process and again in KES, checks its grant in KES, and is
// audited by KES. Then the cost a grant check adds, measured at KES: decrypting a data key as the key's
// owning service against decrypting it as an agent with a grant (token chain + grant lookup).
// For each form it also prints the CPU one call costs in each process on this machine: the web process,
// KES, the PostgreSQL backends, and this client (on a 2-core machine they all share the cores, so CPU per
// call bounds calls per second).
// The web process runs as in production: without the job workers (WORKERS_IN_PROCESS=false; in production
// they are processes of their own, and nothing here needs one), and without Redis (the production guide
// keeps rate-limit buckets in PostgreSQL).
// Prints figures and the machine; asserts nothing.
//   npm run bench:cubbies      (BENCH_DATABASE_URL / TEST_DATABASE_URL, default local PostgreSQL)
//   BENCH_N (default 200): calls per agent and form
//   BENCH_WARMUP (default 200): untimed calls per agent before each form, at the form's concurrency: the
//     figures are a running server's, not those of its first thousand calls (V8 still compiling the hot
//     paths in four processes, pools opening connections), whose p95 at 8 agents measured about 6 ms higher
//   BENCH_ONLY="get 1 KB, 8": only the forms whose label ("get 1 KB, 8 agent(s)") contains it (and no grant-check figures)
//   BENCH_REDIS_URL=redis://127.0.0.1:6379/0: rate-limit buckets in Redis (REDIS_URL of the web process)
//   BENCH_WORKERS_IN_PROCESS=true: the job workers and scheduler inside the web process
//   BENCH_CPU_PROFILE=<folder>: the web process and KES write V8 CPU profiles there when they stop
import { accessContextFor, userPrincipal } from "@/lib/access/context";
import { createAgent } from "@/lib/agents/service";
import { createSotClient, type SotClient } from "@/lib/cubbies/client";
import { KesClient, httpTransport } from "@/lib/kes/client";
import { startApp, type RunningApp } from "@/tests/helpers/app";
import { makeUser } from "@/tests/helpers/auth";
import type { TestDb } from "@/tests/helpers/db";
import { startKesProcess, type KesProcess } from "@/tests/helpers/kes-process";
import { backendCpu, concurrentLoops, cpuSince, figuresLine, loadAverage, machine, scratchDb, threadCpuMs, type LoopFigures } from "./lib";

const N = Number(process.env.BENCH_N ?? 200);
const WARMUP = Number(process.env.BENCH_WARMUP ?? 200);
const AGENTS = 8;
const KEYS = 32;
const TARGET = { getP95At8: 15, getPerSecond: 500 };
const ONLY = process.env.BENCH_ONLY ?? "";
const profile = process.env.BENCH_CPU_PROFILE ? ["--cpu-prof", `--cpu-prof-dir=${process.env.BENCH_CPU_PROFILE}`] : [];

const scratch = await scratchDb("cubbies");
let kesProc: KesProcess | undefined;
let app: RunningApp | undefined;
const results: Record<string, LoopFigures> = {};
try {
  kesProc = await startKesProcess({ databaseUrl: scratch.url, services: ["sot-web"], nodeArgs: profile });
  const testDb: TestDb = Object.assign(scratch.db, { url: scratch.url, drop: async () => {} });
  app = await startApp({
    db: testDb,
    nodeArgs: profile,
    env: {
      KES_URL: kesProc.url,
      KES_TOKEN: kesProc.tokens["sot-web"]!,
      RATE_LIMIT_BURST: "1000000",
      RATE_LIMIT_PER_MINUTE: "1000000",
      WORKERS_IN_PROCESS: process.env.BENCH_WORKERS_IN_PROCESS ?? "false",
      ...(process.env.BENCH_REDIS_URL ? { REDIS_URL: process.env.BENCH_REDIS_URL } : {}),
      DEMO_WIKI: "false",
      LOG_LEVEL: "error",
    },
  });
  const admin = await makeUser(scratch.db, "admin");
  const ctx = await accessContextFor(scratch.db, (await userPrincipal(scratch.db, admin.id))!);
  const clients: SotClient[] = [];
  for (let i = 0; i < AGENTS; i++) {
    const { credential } = await createAgent(ctx, { name: `bench-agent-${i}` });
    clients.push(createSotClient({ baseUrl: app.baseUrl, credential, tokenTtlSeconds: 3600 }));
  }
  const cubby = await clients[0]!.createCubby({ name: "bench", allowedAgents: clients.map((_, i) => `bench-agent-${i}`) });
  const cubbies = clients.map((c) => c.cubby("bench"));
  const values = { "1 KB": "x".repeat(1024 - 2), "64 KB": "x".repeat(64 * 1024 - 2) };
  const slug = (size: string) => size.replace(" ", "").toLowerCase(); // item keys: "1kb-3"
  for (const [size, value] of Object.entries(values)) {
    for (let k = 0; k < KEYS; k++) await cubby.set(`${slug(size)}-${k}`, value);
  }

  console.log(`cubbies over HTTP (the built app), KES as its own process on loopback; ${N} calls per agent after ${WARMUP} untimed ones; every call audited by KES`);
  console.log(`${machine()}; load before: ${loadAverage()}`);
  console.log(
    `web process: workers ${process.env.BENCH_WORKERS_IN_PROCESS === "true" ? "inside" : "not inside"}, rate-limit buckets in ${process.env.BENCH_REDIS_URL ? "Redis" : "PostgreSQL"}`,
  );
  const pids = { web: app.process.pid!, kes: kesProc.process.pid! };
  /** Runs one form and prints its figures and the CPU one call cost in each process. */
  const form = async (label: string, agents: number, fn: (a: number, i: number) => Promise<unknown>) => {
    const name = `${label}, ${agents} agent(s)`;
    if (!name.includes(ONLY)) return;
    await concurrentLoops(agents, WARMUP, fn, 0); // untimed, at the form's concurrency; CPU counted over the timed calls only
    const before = { web: threadCpuMs(pids.web), kes: threadCpuMs(pids.kes), client: threadCpuMs(process.pid), pg: await backendCpu(scratch.db) };
    const r = await concurrentLoops(agents, N, fn, 0);
    const calls = agents * N;
    const pg = cpuSince(before.pg, await backendCpu(scratch.db));
    results[`${label} ${agents}`] = r;
    console.log(figuresLine(name, r));
    const per = (ms: number) => (ms / calls).toFixed(2);
    console.log(
      `   CPU per call: web ${per(threadCpuMs(pids.web) - before.web)} ms, KES ${per(threadCpuMs(pids.kes) - before.kes)} ms, ` +
        `PostgreSQL ${pg === null ? "n/a" : per(pg * 1000)} ms, client ${per(threadCpuMs(process.pid) - before.client)} ms; load ${loadAverage()}`,
    );
  };
  for (const [size, value] of Object.entries(values)) {
    for (const agents of [1, AGENTS]) {
      await form(`get ${size}`, agents, (a, i) => cubbies[a]!.get(`${slug(size)}-${(a * 7 + i) % KEYS}`));
      // each agent writes its own keys: no optimistic-concurrency conflicts, every call a real write
      await form(`set ${size}`, agents, (a, i) => cubbies[a]!.set(`${slug(size)}-w${a}-${i % 8}`, value));
    }
  }

  // The grant check at KES: the same data key decrypted by the owning service and by an agent with a grant.
  if (!ONLY) {
    const service = new KesClient(httpTransport(kesProc.url, kesProc.tokens["sot-web"]!, 30_000));
    const token = (await clients[1]!.delegate({})).token;
    const asAgent = service.asAgent(token);
    const wrapped = await Promise.all(Array.from({ length: 32 }, (_, i) => service.generateDataKey("cubby.bench", { row: String(i) }).then((d) => d.wrapped)));
    const owner = await concurrentLoops(1, N, (_a, i) => service.decryptDataKey(wrapped[i % 32]!, { row: String(i % 32) }));
    const grantee = await concurrentLoops(1, N, (_a, i) => asAgent.decryptDataKey(wrapped[i % 32]!, { row: String(i % 32) }));
    console.log(figuresLine("KES decrypt as the owning service", owner));
    console.log(figuresLine("KES decrypt as an agent with a grant", grantee));
    console.log(`grant check (agent token + grant, at KES): +${(grantee.p50 - owner.p50).toFixed(2)} ms at p50, +${(grantee.p95 - owner.p95).toFixed(2)} ms at p95`);
  }

  const g8 = results[`get 1 KB ${AGENTS}`];
  const verdict = (ok: boolean) => (ok ? "met" : "NOT met");
  if (g8) {
    console.log(
      `targets: get p95 at ${AGENTS} agents ≤ ${TARGET.getP95At8} ms: ${g8.p95.toFixed(1)} ms (${verdict(g8.p95 <= TARGET.getP95At8)}); ` +
        `≥ ${TARGET.getPerSecond} get/s: ${g8.perSecond.toFixed(0)}/s (${verdict(g8.perSecond >= TARGET.getPerSecond)})`,
    );
  }
  console.log(`load after: ${loadAverage()}`);
} finally {
  await app?.stop();
  await kesProc?.stop();
  await scratch.drop();
}
