// What a call to KES costs: datakey.generate and datakey.decrypt over HTTP on loopback, KES as its own
// process (workers/kes.ts) on a scratch PostgreSQL database, with 1 and 8 concurrent callers: p50/p95
// per call and calls/s. Then the cost of the grant check: decrypt as the key's owner against decrypt
// as a grantee (the grant is read from kes_grants on every call). Prints figures; asserts nothing.
//   npm run bench:kes      (BENCH_DATABASE_URL / TEST_DATABASE_URL, default local PostgreSQL)
//   BENCH_N (default 400): calls per caller and form
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import path from "node:path";
import { KesClient, httpTransport } from "@/lib/kes/client";
import { loadAverage, machine, percentile, scratchDb } from "./lib";

const N = Number(process.env.BENCH_N ?? 400);
const ROOT = process.cwd(); // npm runs scripts from the repository root

async function startKes(url: string, tokens: string): Promise<{ url: string; stop(): void }> {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    NODE_ENV: "production",
    DATABASE_URL: url,
    AUTH_SECRET: randomBytes(32).toString("hex"),
    MASTER_KEYS: `bench:${randomBytes(32).toString("base64")}`,
    KES_SERVICE_TOKENS: tokens,
    KES_PORT: "0",
    LOG_LEVEL: "info",
  };
  delete env.MASTER_KEY_FILE;
  const child = spawn(process.execPath, ["--import", "tsx", "workers/kes.ts"], { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stderr!.on("data", (d) => (out += d));
  return new Promise((resolve, reject) => {
    child.stdout!.on("data", (d) => {
      out += d;
      const m = /"msg":"kes listening".*?"url":"([^"]+)"/.exec(out);
      if (m) resolve({ url: m[1]!, stop: () => child.kill("SIGTERM") });
    });
    child.once("exit", (code) => reject(new Error(`kes exited (${code}):\n${out}`)));
  });
}

/** `callers` loops of N calls each at once; per-call times and the wall clock. */
async function run(callers: number, fn: (caller: number, i: number) => Promise<unknown>) {
  for (let i = 0; i < 30; i++) await fn(0, i); // warm-up: pools, JIT, plans
  const times: number[] = [];
  const start = performance.now();
  await Promise.all(
    Array.from({ length: callers }, async (_, c) => {
      for (let i = 0; i < N; i++) {
        const s = performance.now();
        await fn(c, i);
        times.push(performance.now() - s);
      }
    }),
  );
  const wall = (performance.now() - start) / 1000;
  return { p50: percentile(times, 50), p95: percentile(times, 95), perSecond: times.length / wall };
}

const line = (label: string, r: { p50: number; p95: number; perSecond: number }) =>
  console.log(`${label.padEnd(44)} p50 ${r.p50.toFixed(2).padStart(7)} ms   p95 ${r.p95.toFixed(2).padStart(7)} ms   ${r.perSecond.toFixed(0).padStart(6)} calls/s`);

const scratch = await scratchDb("kes");
const ownerToken = randomBytes(32).toString("base64url");
const granteeToken = randomBytes(32).toString("base64url");
const kesProc = await startKes(scratch.url, `owner:${ownerToken},grantee:${granteeToken}`);
try {
  const owner = new KesClient(httpTransport(kesProc.url, ownerToken, 30_000));
  const grantee = new KesClient(httpTransport(kesProc.url, granteeToken, 30_000));
  await owner.createKey("bench");
  await owner.grant("bench", "service:grantee", { operations: ["decrypt"] });
  const wrapped = await Promise.all(Array.from({ length: 64 }, (_, i) => owner.generateDataKey("bench", { row: String(i) }).then((d) => d.wrapped)));

  console.log(`KES over HTTP on loopback, its own process; ${N} calls per caller; every call audited`);
  console.log(`${machine()}; load before: ${loadAverage()}`);
  for (const callers of [1, 8]) {
    line(`generate, ${callers} caller(s)`, await run(callers, (c, i) => owner.generateDataKey("bench", { row: `${c}-${i}` })));
    line(`decrypt as owner, ${callers} caller(s)`, await run(callers, (_c, i) => owner.decryptDataKey(wrapped[i % 64]!, { row: String(i % 64) })));
    line(`decrypt as grantee, ${callers} caller(s)`, await run(callers, (_c, i) => grantee.decryptDataKey(wrapped[i % 64]!, { row: String(i % 64) })));
  }
  console.log(`load after: ${loadAverage()}`);
} finally {
  kesProc.stop();
  await scratch.drop();
}
