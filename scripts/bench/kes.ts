// What a call to KES costs: datakey.generate and datakey.decrypt over HTTP on loopback, KES as its own
// process (workers/kes.ts) on a scratch PostgreSQL database, with 1 and 8 concurrent callers: p50/p95
// per call and calls/s. Then the cost of the grant check: decrypt as the key's owner against decrypt
// as a grantee (the grant is read from kes_grants on every call). Prints figures; asserts nothing.
//   npm run bench:kes      (BENCH_DATABASE_URL / TEST_DATABASE_URL, default local PostgreSQL)
//   BENCH_N (default 400): calls per caller and form
import { KesClient, httpTransport } from "@/lib/kes/client";
import { startKesProcess } from "@/tests/helpers/kes-process";
import { concurrentLoops, figuresLine, loadAverage, machine, scratchDb } from "./lib";

const N = Number(process.env.BENCH_N ?? 400);
const run = (callers: number, fn: (caller: number, i: number) => Promise<unknown>) => concurrentLoops(callers, N, fn);
const line = (label: string, r: Awaited<ReturnType<typeof run>>) => console.log(figuresLine(label, r));

const scratch = await scratchDb("kes");
const kesProc = await startKesProcess({ databaseUrl: scratch.url, services: ["owner", "grantee"] });
try {
  const owner = new KesClient(httpTransport(kesProc.url, kesProc.tokens.owner!, 30_000));
  const grantee = new KesClient(httpTransport(kesProc.url, kesProc.tokens.grantee!, 30_000));
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
  await kesProc.stop();
  await scratch.drop();
}
