// npm run bench:guardrails — what the usage ledger and the budget check add to the ask path, and how far a
// nearly spent budget is overshot by concurrent callers.
//
// 1. Eight concurrent askers (the real ask pipeline in this process, on PostgreSQL, the demo wiki, the fake
//    Ollama answering at once so the database work is not hidden behind a model) ask BENCH_ASKS rounds of
//    questions, each round once with the guardrails and once without (interleaved). Every asker has a
//    monthly GPU-second budget of its own and there is a global token budget, so each model call reserves
//    on two budgets (the global row is shared by all eight: the contended case; BENCH_GLOBAL=0 leaves it
//    out). Reservations come out of the process's budget leases (lib/usage/lease.ts): an ask awaits a
//    statement only when a lease has to be taken or has run out. The figure is the difference of the
//    answers' latency with and without, p50 and p95 (target:
//    ≤ 3 ms p95); each answer's own `timings.guardrailsMs` is printed beside it, and the CPU an answer costs
//    with and without (this process and the PostgreSQL backends; steadier than latency on a shared machine,
//    and at 8 askers on 2 cores every added millisecond of CPU is waited for by the others).
// 2. Twenty concurrent callers against a budget with 1,000 tokens left, each call allowed up to 350 tokens
//    and answering with about 330, BENCH_ROUNDS times: the largest overshoot over the limit, next to one
//    call's maximum (the bound the reservation promises).
//
// Environment: BENCH_ASKS (per asker, default 40), BENCH_ROUNDS (default 20), BENCH_WARMUP (untimed asks per
// asker each way before the timed ones, default 25), BENCH_DATABASE_URL.
// BENCH_PHASE_ASKS=n: instead of rounds (every asker asks once, all wait, then the other kind), phases of
// continuous traffic — every asker asks n times in a row without waiting for the others — alternating with
// and without, BENCH_ASKS asks per asker of each kind in all. Work the guardrails leave for later (the
// writer's statements) then runs beside the answers that follow, as under real traffic, instead of between rounds.
// BENCH_AA=1: an A/A run (both arms without the guardrails) — the noise floor of the printed difference. Each
// difference is printed with its 95% bootstrap interval.
// BENCH_ALONE=1: instead of 1 and 2, the guardrails' CPU per answer without an ask around them (section 0, below).
import { accessContextFor, type AccessContext } from "@/lib/access/context";
import { ask } from "@/lib/answer";
import { userPrincipal } from "@/lib/access/context";
import { getConfig, resetConfig } from "@/lib/config";
import { setDb } from "@/lib/db/client";
import { seedDemoWiki } from "@/lib/ingest";
import { getLlm, resetLlm } from "@/lib/llm";
import { setBudget } from "@/lib/usage/budgets";
import { beginModelCall, endModelCall, estimateFor, flushUsage, guardrailsOff, reserveForWork, setGuardrailsOffForBenchmark } from "@/lib/usage/meter";
import { usageScopeFor, withUsage } from "@/lib/usage/scope";
import { startFakeOllama } from "@/tests/fakes/ollama";
import { makeUser } from "@/tests/helpers/auth";
import pg from "pg";
import type { Db } from "@/lib/db/client";
import type { QueryOptions } from "@/lib/db/sql-runner";
import { runningWrites } from "@/lib/usage/writer";
import { backendCpu, cpuSince, fmt, loadAverage, machine, percentile, scratchDb, threadCpuMs } from "./lib";

const ASKERS = 8;
const ASKS = Number(process.env.BENCH_ASKS ?? 40);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 20);
const CALLERS = 20;
// BENCH_AA=1: both arms run without the guardrails (an A/A run): the difference it prints is the bench's own
// noise at this sample size, the floor under which a difference in the A/B run means nothing.
const AA = process.env.BENCH_AA === "1";
const WARMUP = Number(process.env.BENCH_WARMUP ?? 25);
const ALONE = process.env.BENCH_ALONE === "1";

const QUESTIONS = [
  "How often are service credentials rotated in Vault?",
  "What share of traffic does the canary get during a deploy?",
  "Who approves access requests?",
  "What is the on-call rotation?",
  "How do I file an expense report?",
  "How long are logs kept?",
  "What are the severity levels of an incident?",
  "How do I connect to the VPN?",
];

async function contextOf(db: Parameters<typeof accessContextFor>[0], userId: string): Promise<AccessContext> {
  return accessContextFor(db, (await userPrincipal(db, userId))!);
}

async function main() {
  console.log(`bench:guardrails — ${ASKERS} concurrent askers × ${ASKS} asks; ${CALLERS} concurrent callers × ${ROUNDS} rounds against a nearly spent budget${AA ? "; A/A: both arms without the guardrails" : ""}`);
  console.log(machine());
  console.log(`load average at start: ${loadAverage()}; database pool: ${getConfig().DATABASE_POOL_SIZE} connections (DATABASE_POOL_SIZE)`);
  let onChat: ((req: unknown) => string | undefined) | undefined;
  const ollama = await startFakeOllama({ onChat: (req) => onChat?.(req) });
  Object.assign(process.env, { OLLAMA_HOST: ollama.url, LOG_LEVEL: "error", RERANK_URL: "" });
  resetConfig();
  resetLlm();
  // The web process's pool (DATABASE_POOL_SIZE, default 10), not the loaders' 40: each pooled connection plans
  // the guardrails' prepared statements anew for their first uses, so a larger pool than production's would
  // charge the guardrails more planning than production pays.
  const scratch = await scratchDb("guardrails", { poolSize: getConfig().DATABASE_POOL_SIZE });
  const { db } = scratch;
  setDb(db);
  try {
    await seedDemoWiki(db, { llm: getLlm() });
    const admin = await contextOf(db, (await makeUser(db, "admin")).id);
    // BENCH_GLOBAL=0 leaves the global budget out (no row shared by every caller); BENCH_BUDGETS=none sets
    // no budget at all (the ledger alone: what a deployment without budgets pays).
    const noBudgets = process.env.BENCH_BUDGETS === "none";
    const withGlobal = process.env.BENCH_GLOBAL !== "0" && !noBudgets;
    if (withGlobal) await setBudget(admin, { scopeKind: "global", metric: "tokens", period: "day", limit: 1e12 });
    const askers: AccessContext[] = [];
    for (let i = 0; i < ASKERS; i++) {
      const u = await makeUser(db, "viewer");
      if (!noBudgets) await setBudget(admin, { scopeKind: "user", scopeId: u.id, metric: "gpu_seconds", period: "month", limit: 1e9 });
      askers.push(await contextOf(db, u.id));
    }

    // BENCH_ALONE=1: the guardrails alone instead of the ask path (section 0 below).
    if (ALONE) {
      await guardrailsAlone(db, askers);
      return;
    }

    // ── 1. the ask path ──
    for (const ctx of askers) await ask(ctx, { question: QUESTIONS[0]!, stream: false }); // warm-up
    // For scale: one bare database round trip at the same concurrency, on this machine now.
    const bare: number[] = [];
    await Promise.all(
      askers.map(async () => {
        for (let i = 0; i < ASKS; i++) {
          const t = performance.now();
          await db.sql`SELECT 1`;
          bare.push(performance.now() - t);
        }
      }),
    );
    // BENCH_PROFILE=1: which guardrail statements run, how long each takes from the client's side, and what
    // the database's sessions wait on meanwhile (pg_stat_activity sampled from a connection of its own).
    const profile = process.env.BENCH_PROFILE === "1" ? startProfile(db, scratch.url) : undefined;
    // A and B interleaved in rounds (each round: every asker asks once with the guardrails, once without),
    // so drift in the machine's load falls on both alike.
    const withG: number[] = [];
    const without: number[] = [];
    const guard: number[] = [];
    const cpu = { with: { app: 0, db: 0 }, without: { app: 0, db: 0 } };
    const perPhase = Number(process.env.BENCH_PHASE_ASKS ?? 1);
    // Warm-up at full concurrency, both ways, untimed: the first answers of a process are slower (code not
    // yet optimised by V8, statements planned anew on each pooled connection), and whichever arm ran first
    // took them — in A/A runs (BENCH_AA=1) without it, the arm that ran first was 5–8 ms slower at p95.
    for (const off of [false, true]) {
      setGuardrailsOffForBenchmark(off || AA);
      await Promise.all(
        askers.map(async (ctx, a) => {
          for (let j = 0; j < WARMUP; j++) await ask(ctx, { question: QUESTIONS[(a + j) % QUESTIONS.length]!, stream: false });
        }),
      );
    }
    await Promise.all(runningWrites());
    // Each round (or pair of phases) keeps its answers apart for the interval below.
    const pairs: Array<{ with: number[]; without: number[] }> = [];
    for (let i = 0; i < ASKS; i += perPhase) {
      const pair = { with: [] as number[], without: [] as number[] };
      pairs.push(pair);
      for (const off of (i / perPhase) % 2 ? [true, false] : [false, true]) {
        setGuardrailsOffForBenchmark(off || AA);
        const appBefore = threadCpuMs(process.pid);
        const dbBefore = await backendCpu(db);
        await Promise.all(
          askers.map(async (ctx, a) => {
            for (let j = i; j < Math.min(i + perPhase, ASKS); j++) {
              const t = performance.now();
              const r = await ask(ctx, { question: QUESTIONS[(a + j) % QUESTIONS.length]!, stream: false });
              const ms = performance.now() - t;
              (off ? without : withG).push(ms);
              (off ? pair.without : pair.with).push(ms);
              if (!off) guard.push(r.timings.guardrailsMs);
            }
          }),
        );
        // The round's (or phase's) settlements are written off the answers' path: their CPU counts with it.
        if (!off) await Promise.all(runningWrites());
        const side = off ? cpu.without : cpu.with;
        side.app += threadCpuMs(process.pid) - appBefore;
        side.db += (cpuSince(dbBefore, await backendCpu(db)) ?? NaN) * 1000;
      }
    }
    setGuardrailsOffForBenchmark(false);
    if (profile) await profile.report(withG.length);
    const [calls] = await db.sql<{ n: number }>`SELECT count(*)::int AS n FROM model_usage`;
    const d50 = percentile(withG, 50) - percentile(without, 50);
    const d95 = percentile(withG, 95) - percentile(without, 95);
    const ci = (p: number) => bootstrapDifference(pairs, p);
    console.log(`\nask path, ${ASKERS} concurrent askers, ${withG.length} answers with and ${without.length} without the guardrails (${calls!.n} ledger rows; ${noBudgets ? "no budgets: the ledger alone" : `each call reserving on ${withGlobal ? "2 budgets, one of them global (shared by all)" : "its asker's own budget"}`}):`);
    console.log(`  for scale, one bare round trip (SELECT 1) at ${ASKERS} concurrent: p50 ${fmt(percentile(bare, 50), 2)} ms, p95 ${fmt(percentile(bare, 95), 2)} ms`);
    console.log(`  answer with guardrails:    p50 ${fmt(percentile(withG, 50), 1)} ms, p95 ${fmt(percentile(withG, 95), 1)} ms`);
    console.log(`  answer without guardrails: p50 ${fmt(percentile(without, 50), 1)} ms, p95 ${fmt(percentile(without, 95), 1)} ms`);
    console.log(`  difference (what the ledger and the budget check add): p50 ${fmt(d50, 2)} ms, p95 ${fmt(d95, 2)} ms (target ≤ 3 ms p95: ${d95 <= 3 ? "met" : "NOT met"})`);
    console.log(`  95% interval of the difference (bootstrap over the ${pairs.length} ${perPhase > 1 ? "pairs of phases" : "rounds"}): p50 ${ci(50).map((v) => fmt(v, 2)).join(" … ")} ms, p95 ${ci(95).map((v) => fmt(v, 2)).join(" … ")} ms`);
    const per = (c: { app: number; db: number }, n: number) => ({ app: c.app / n, db: c.db / n, all: (c.app + c.db) / n });
    const cw = per(cpu.with, withG.length);
    const co = per(cpu.without, without.length);
    console.log(`  CPU per answer (this process incl. the fake Ollama, + PostgreSQL backends): with ${fmt(cw.all, 2)} ms (${fmt(cw.app, 2)} + ${fmt(cw.db, 2)}), without ${fmt(co.all, 2)} ms (${fmt(co.app, 2)} + ${fmt(co.db, 2)}); the guardrails add ${fmt(cw.all - co.all, 2)} ms (${fmt(cw.app - co.app, 2)} + ${fmt(cw.db - co.db, 2)})`);
    console.log(`  wall time the answers spent awaiting guardrail steps (timings.guardrailsMs, includes waiting behind the other askers' work): p50 ${fmt(percentile(guard, 50), 2)} ms, p95 ${fmt(percentile(guard, 95), 2)} ms`);

    // ── 2. overshoot under 20 concurrent callers ──
    const maxPerCall = Math.ceil(150 / 3) + 300;
    const messages = [{ role: "user" as const, content: "x".repeat(150) }];
    onChat = () => "word ".repeat(290);
    const overshoots: number[] = [];
    let admitted = 0;
    let refused = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const u = await makeUser(db, "viewer");
      const ctx = await contextOf(db, u.id);
      const b = await setBudget(admin, { scopeKind: "user", scopeId: u.id, metric: "tokens", period: "day", limit: 100_000 });
      await db.sql`UPDATE budgets SET used = 99000 WHERE id = ${b.id}::uuid`;
      const outcomes = await withUsage(usageScopeFor(ctx), () => Promise.allSettled(Array.from({ length: CALLERS }, () => getLlm().chat(messages, { maxTokens: 300 }))));
      admitted += outcomes.filter((o) => o.status === "fulfilled").length;
      refused += outcomes.filter((o) => o.status === "rejected").length;
      await flushUsage(); // the settlements are written off the callers' path: read the budget once they landed
      const [row] = await db.sql<{ used: number }>`SELECT used FROM budgets WHERE id = ${b.id}::uuid`;
      overshoots.push(Number(row!.used) - 100_000);
    }
    onChat = undefined;
    const worst = Math.max(...overshoots);
    console.log(`\novershoot, ${CALLERS} concurrent callers × ${ROUNDS} rounds, 1,000 of 100,000 tokens left, one call at most ${maxPerCall} tokens:`);
    console.log(`  admitted ${admitted}, refused with 429 ${refused}; overshoot over the limit: max ${fmt(worst, 0)} tokens, median ${fmt(percentile(overshoots, 50), 0)} (bound: one call's maximum, ${maxPerCall}: ${worst <= maxPerCall ? "held" : "NOT held"})`);
    console.log(`\nload average at end: ${loadAverage()}`);
  } finally {
    await flushUsage(); // leases go back and the writer finishes before the database goes
    await scratch.drop();
    await ollama.close();
  }
}

/**
 * ── 0. the guardrails alone (BENCH_ALONE=1) ── what they cost per answer in CPU, without an ask around them: each
 * of the eight callers does what an ask does to them (reserve for the work, two model calls each settled, the
 * release), with BENCH_ALONE_MODEL_MS (default 22) of "model" per call, so that about as many answers a second
 * arrive as in the ask bench and the writer's batches are as large. Arms with and without the guardrails
 * alternate, BENCH_ALONE_ROUNDS (default 4) rounds of BENCH_ALONE_ANSWERS (default 1,600) answers each, after a
 * warm-up round; printed: this process's and the PostgreSQL backends' CPU per answer, each round, and the median
 * added. Without an ask's own work (about 8 ms of CPU per answer) beside it, this is steadier than the ask path's
 * CPU figure, and it tells which of the guardrails' costs moves when a setting (USAGE_WRITE_WINDOW_MS) changes.
 */
async function guardrailsAlone(db: Db, askers: AccessContext[]) {
  const answers = Number(process.env.BENCH_ALONE_ANSWERS ?? 1600);
  const rounds = Number(process.env.BENCH_ALONE_ROUNDS ?? 4);
  const modelMs = Number(process.env.BENCH_ALONE_MODEL_MS ?? 22);
  const call = { model: getConfig().OLLAMA_CHAT_MODEL, promptTokens: 700, completionTokens: 100, gpuSeconds: 0.2, loadSeconds: 0, ok: true };
  const watch = watchStatements(db);
  const tally = () => new Map([...watch.times].map(([kind, t]) => [kind, t.length]));
  const oneAnswer = async (ctx: AccessContext) => {
    const scope = usageScopeFor(ctx);
    const work = guardrailsOff() ? { check: undefined, prepaid: undefined, release() {} } : await reserveForWork(scope, estimateFor(9000));
    try {
      await withUsage({ ...scope, budgets: work.check, prepaid: work.prepaid }, async () => {
        for (const [op, tokens] of [["embed", 20], ["chat", 9000]] as const) {
          const ticket = await beginModelCall(call.model, op, estimateFor(tokens));
          await new Promise((r) => setTimeout(r, modelMs));
          await endModelCall(ticket, call);
        }
      });
    } finally {
      work.release();
    }
  };
  const per = { on: { app: [] as number[], db: [] as number[] }, off: { app: [] as number[], db: [] as number[] } };
  const statementsOn = new Map<string, number>();
  for (let round = 0; round <= rounds; round++) {
    for (const off of round % 2 ? [true, false] : [false, true]) {
      setGuardrailsOffForBenchmark(off);
      const before = tally();
      const app = threadCpuMs(process.pid);
      const dbCpu = await backendCpu(db);
      await Promise.all(askers.map(async (ctx) => { for (let i = 0; i < answers / askers.length; i++) await oneAnswer(ctx); }));
      await Promise.all(runningWrites());
      if (round === 0) continue; // the warm-up round
      const side = off ? per.off : per.on;
      side.app.push((threadCpuMs(process.pid) - app) / answers);
      side.db.push(((cpuSince(dbCpu, await backendCpu(db)) ?? NaN) * 1000) / answers);
      if (!off) for (const [kind, n] of tally()) statementsOn.set(kind, (statementsOn.get(kind) ?? 0) + n - (before.get(kind) ?? 0));
    }
  }
  setGuardrailsOffForBenchmark(false);
  watch.stop();
  const list = (xs: number[]) => xs.map((x) => fmt(x, 3)).join(", ");
  const n = answers * rounds;
  console.log(`\nthe guardrails alone (BENCH_ALONE=1): ${askers.length} callers, ${rounds} rounds of ${answers} answers each way, ${modelMs} ms of model per call, window ${getConfig().USAGE_WRITE_WINDOW_MS} ms:`);
  console.log(`  CPU per answer in this process: with ${list(per.on.app)} ms; without ${list(per.off.app)} ms`);
  console.log(`  CPU per answer in PostgreSQL:   with ${list(per.on.db)} ms; without ${list(per.off.db)} ms`);
  console.log(`  added (medians): ${fmt(percentile(per.on.app, 50) - percentile(per.off.app, 50), 3)} ms in this process, ${fmt(percentile(per.on.db, 50) - percentile(per.off.db, 50), 3)} ms in PostgreSQL`);
  console.log(`  statements per guarded answer: ${[...statementsOn].map(([kind, k]) => `${kind} ${fmt(k / n, 3)}`).join("; ")}`);
}

/** Which guardrail statement a query is ("other": not one of theirs). */
const statementKind = (text: string) =>
  /INSERT INTO model_usage/.test(text) ? (/WITH ORDINALITY/.test(text) ? "settle + ledger rows + releases (batched)" : "settle + ledger row") : /matched AS/.test(text) ? "reserve / take or renew a lease" : /budget/.test(text) ? "other budget statement" : "other";

/** Times every statement run through `db.sql`, as the client sees it, by statementKind; stop() ends it. */
function watchStatements(db: Db) {
  const times = new Map<string, number[]>();
  const query = db.sql.query.bind(db.sql);
  db.sql.query = (async (text: string, params?: unknown[], opts?: QueryOptions) => {
    const kind = statementKind(text);
    const t = performance.now();
    try {
      return await query(text, params, opts);
    } finally {
      (times.get(kind) ?? times.set(kind, []).get(kind)!).push(performance.now() - t);
    }
  }) as typeof db.sql.query;
  return { times, stop: () => void (db.sql.query = query) };
}

/** Times the usage statements as the client sees them and samples the server's wait events. */
function startProfile(db: Db, url: string) {
  const { times } = watchStatements(db);
  const sampler = new pg.Client({ connectionString: url });
  const waits = new Map<string, number>();
  let samples = 0;
  let stop = false;
  const sampling = (async () => {
    await sampler.connect();
    while (!stop) {
      const { rows } = await sampler.query<{ w: string; q: string }>(
        `SELECT COALESCE(wait_event_type || ':' || wait_event, 'CPU') AS w, left(regexp_replace(query, '[[:space:]]+', ' ', 'g'), 120) AS q
         FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() AND state = 'active'`,
      );
      samples++;
      for (const r of rows) {
        const k = `${r.w} — ${/model_usage|calls AS/.test(r.q) ? "settle + ledger row" : /matched AS/.test(r.q) ? "reserve / lease" : r.q.slice(0, 60)}`;
        waits.set(k, (waits.get(k) ?? 0) + 1);
      }
      await new Promise((r) => setTimeout(r, 2));
    }
    await sampler.end();
  })();
  return {
    async report(answers: number) {
      stop = true;
      await sampling;
      console.log(`\nprofile (BENCH_PROFILE=1): guardrail statements over ${answers} guarded answers, client-side time`);
      for (const [k, v] of times) if (k !== "other") console.log(`  ${k}: ${v.length} (${fmt(v.length / answers, 2)} per answer), p50 ${fmt(percentile(v, 50), 2)} ms, p95 ${fmt(percentile(v, 95), 2)} ms, total ${fmt(v.reduce((a, b) => a + b, 0), 0)} ms`);
      console.log(`  active sessions of the bench's database in ${samples} samples of pg_stat_activity (wait event — statement: share of samples with it):`);
      for (const [k, n] of [...waits].sort((a, b) => b[1] - a[1]).slice(0, 14)) console.log(`    ${fmt((100 * n) / samples, 1)}%  ${k}`);
    },
  };
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);

/**
 * The 2.5th and 97.5th percentiles of percentile(with, p) - percentile(without, p) over 1,000 resamples of the
 * rounds (or pairs of phases), each drawn whole with both its arms (a paired block bootstrap): answers of one
 * phase share the machine's state at that moment (another process's burst, a collection), so resampling single
 * answers would understate the spread.
 */
function bootstrapDifference(pairs: Array<{ with: number[]; without: number[] }>, p: number): [number, number] {
  let seed = 42;
  const random = () => (seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648) / 2_147_483_648;
  const diffs = Array.from({ length: 1000 }, () => {
    const drawn = Array.from(pairs, () => pairs[Math.floor(random() * pairs.length)]!);
    return percentile(drawn.flatMap((d) => d.with), p) - percentile(drawn.flatMap((d) => d.without), p);
  }).sort((x, y) => x - y);
  return [diffs[25]!, diffs[974]!];
}
