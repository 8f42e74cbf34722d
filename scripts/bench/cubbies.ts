// What cubbies cost through SOT's HTTP API: get and set of 1 KB and 64 KB values by 1 and 8 concurrent
// agents (each with its own token, through lib/cubbies/client.ts), the built app on a scratch PostgreSQL
// database and KES as its own process on loopback (the web process holds no master key). Every call
// resolves the agent's token in the web process and again in KES, checks its grant in KES, and is
// audited by KES. Then the cost a grant check adds, measured at KES: decrypting a data key as the key's
// owning service against decrypting it as an agent with a grant (token chain + grant lookup).
// Prints figures and the machine; asserts nothing.
//   npm run bench:cubbies      (BENCH_DATABASE_URL / TEST_DATABASE_URL, default local PostgreSQL)
//   BENCH_N (default 200): calls per agent and form
import { accessContextFor, userPrincipal } from "@/lib/access/context";
import { createAgent } from "@/lib/agents/service";
import { createSotClient, type SotClient } from "@/lib/cubbies/client";
import { KesClient, httpTransport } from "@/lib/kes/client";
import { startApp } from "@/tests/helpers/app";
import { makeUser } from "@/tests/helpers/auth";
import type { TestDb } from "@/tests/helpers/db";
import { startKesProcess } from "@/tests/helpers/kes-process";
import { concurrentLoops, figuresLine, loadAverage, machine, scratchDb, type LoopFigures } from "./lib";

const N = Number(process.env.BENCH_N ?? 200);
const AGENTS = 8;
const KEYS = 32;
const TARGET = { getP95At8: 15, getPerSecond: 500 };

const scratch = await scratchDb("cubbies");
const kesProc = await startKesProcess({ databaseUrl: scratch.url, services: ["sot-web"] });
const testDb: TestDb = Object.assign(scratch.db, { url: scratch.url, drop: async () => {} });
const app = await startApp({
  db: testDb,
  env: {
    KES_URL: kesProc.url,
    KES_TOKEN: kesProc.tokens["sot-web"]!,
    RATE_LIMIT_BURST: "10000000",
    RATE_LIMIT_PER_MINUTE: "10000000",
    LOG_LEVEL: "error",
  },
});
const results: Record<string, LoopFigures> = {};
try {
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
  for (const [size, value] of Object.entries(values)) {
    for (let k = 0; k < KEYS; k++) await cubby.set(`${size}-${k}`, value);
  }

  console.log(`cubbies over HTTP (the built app), KES as its own process on loopback; ${N} calls per agent; every call audited by KES`);
  console.log(`${machine()}; load before: ${loadAverage()}`);
  for (const [size, value] of Object.entries(values)) {
    for (const agents of [1, AGENTS]) {
      const get = await concurrentLoops(agents, N, (a, i) => cubbies[a]!.get(`${size}-${(a * 7 + i) % KEYS}`));
      results[`get ${size} ${agents}`] = get;
      console.log(figuresLine(`get ${size}, ${agents} agent(s)`, get));
      // each agent writes its own keys: no optimistic-concurrency conflicts, every call a real write
      const set = await concurrentLoops(agents, N, (a, i) => cubbies[a]!.set(`${size}-w${a}-${i % 8}`, value));
      results[`set ${size} ${agents}`] = set;
      console.log(figuresLine(`set ${size}, ${agents} agent(s)`, set));
    }
  }

  // The grant check at KES: the same data key decrypted by the owning service and by an agent with a grant.
  const service = new KesClient(httpTransport(kesProc.url, kesProc.tokens["sot-web"]!, 30_000));
  const token = (await clients[1]!.delegate({})).token;
  const asAgent = service.asAgent(token);
  const wrapped = await Promise.all(Array.from({ length: 32 }, (_, i) => service.generateDataKey("cubby.bench", { row: String(i) }).then((d) => d.wrapped)));
  const owner = await concurrentLoops(1, N, (_a, i) => service.decryptDataKey(wrapped[i % 32]!, { row: String(i % 32) }));
  const grantee = await concurrentLoops(1, N, (_a, i) => asAgent.decryptDataKey(wrapped[i % 32]!, { row: String(i % 32) }));
  console.log(figuresLine("KES decrypt as the owning service", owner));
  console.log(figuresLine("KES decrypt as an agent with a grant", grantee));
  console.log(`grant check (agent token + grant, at KES): +${(grantee.p50 - owner.p50).toFixed(2)} ms at p50, +${(grantee.p95 - owner.p95).toFixed(2)} ms at p95`);

  const g8 = results[`get 1 KB ${AGENTS}`]!;
  const verdict = (ok: boolean) => (ok ? "met" : "NOT met");
  console.log(
    `targets: get p95 at ${AGENTS} agents ≤ ${TARGET.getP95At8} ms: ${g8.p95.toFixed(1)} ms (${verdict(g8.p95 <= TARGET.getP95At8)}); ` +
      `≥ ${TARGET.getPerSecond} get/s: ${g8.perSecond.toFixed(0)}/s (${verdict(g8.perSecond >= TARGET.getPerSecond)})`,
  );
  console.log(`load after: ${loadAverage()}`);
} finally {
  await app.stop();
  await kesProc.stop();
  await scratch.drop();
}
