// `npm run bench:scheduler`: what the scheduler costs on PostgreSQL.
// Prints: next-run computation per call (cron in several zones, interval); claim throughput of one
// claimer and of two claimers with separate connection pools contending for the same due schedules
// (the same transaction and advisory lock two processes use); the cost of an idle poll with many
// schedules and a long run history. Figures only — nothing here asserts a timing.
// BENCH_SCHEDULES / BENCH_DATABASE_URL override defaults.
import { openPostgres, type Db } from "@/lib/db/client";
import { nextCronRun, nextIntervalRun, parseCron } from "@/lib/schedules/cron";
import { claimDueRuns, failDeadRuns, syncHandedOffRuns, type EngineOptions } from "@/lib/schedules/engine";
import { BENCH_PG, fmt, machine, percentile, scratchDb } from "./lib";

const N = Number(process.env.BENCH_SCHEDULES ?? 5000);
console.log(machine());
console.log(`PostgreSQL ${BENCH_PG.replace(/\/\/[^@/]*@/, "//***@")}: ${N.toLocaleString()} schedules`);

// ── 1. next_run_at computation ──
{
  const after0 = Date.parse("2026-03-01T00:00:00Z");
  for (const [expr, tz] of [
    ["*/5 * * * *", "UTC"],
    ["30 2 * * *", "America/New_York"],
    ["0 9 * * 1-5", "Europe/Berlin"],
    ["0 0 29 2 *", "Australia/Sydney"],
  ] as const) {
    const spec = parseCron(expr);
    const calls = 5000;
    let t = after0;
    const start = performance.now();
    for (let i = 0; i < calls; i++) t = nextCronRun(spec, tz, expr === "0 0 29 2 *" ? after0 + i * 60_000 : t)!;
    const us = ((performance.now() - start) * 1000) / calls;
    console.log(`next run, cron "${expr}" in ${tz}: ${fmt(us, 1)} µs per call`);
  }
  const start = performance.now();
  for (let i = 0; i < 100_000; i++) nextIntervalRun(after0, 15, after0 + i * 7_000);
  console.log(`next run, interval: ${fmt(((performance.now() - start) * 1000) / 100_000, 2)} µs per call`);
}

const scratch = await scratchDb("scheduler");
const { db, url } = scratch;
const opts = (owner: string, batchSize: number): EngineOptions => ({ owner, globalLimit: 1_000_000, batchSize, deadRunSeconds: 120 });

/** Every schedule due again, on freshly vacuumed tables (as autovacuum would keep them), so rounds compare fairly. */
async function makeAllDue() {
  await db.sql.query(`DELETE FROM schedule_runs`);
  await db.sql.query(`UPDATE schedules SET next_run_at = now() - interval '1 minute'`);
  await db.sql.query(`VACUUM ANALYZE schedules, schedule_runs`);
}

/** Claims until nothing is due, finishing each batch's runs as execution would; returns claims and per-claim latencies. */
async function drain(claimer: Db, owner: string, batchSize: number) {
  const latencies: number[] = [];
  let claimed = 0;
  for (;;) {
    const t = performance.now();
    const batch = await claimDueRuns(claimer, opts(owner, batchSize));
    if (batch.length > 0) latencies.push(performance.now() - t);
    if (batch.length === 0) {
      // Empty: nothing due, or the other claimer holds the start lock right now.
      const [{ due }] = await claimer.sql.query<{ due: number }>(`SELECT count(*)::int AS due FROM schedules WHERE next_run_at <= now()`);
      if (due === 0) break;
      await new Promise((r) => setTimeout(r, 10)); // as a poll loop would, rather than spinning
      continue;
    }
    claimed += batch.length;
    await claimer.sql.query(`UPDATE schedule_runs SET status = 'succeeded', finished_at = now() WHERE id = ANY($1::uuid[])`, [
      batch.map((b) => b.runId),
    ]);
  }
  return { claimed, latencies };
}

try {
  await db.sql.query(
    `INSERT INTO schedules (name, target_kind, target_config, interval_minutes, next_run_at)
     SELECT 'bench ' || g, 'webhook', '{"url": "http://127.0.0.1:9/", "timeoutSeconds": 30}', 1440, now() + interval '1 day'
     FROM generate_series(1, $1::int) g`,
    [N],
  );

  // ── 2. one claimer ──
  for (const batch of [25, 100]) {
    await makeAllDue();
    const t = performance.now();
    const r = await drain(db, "bench:1", batch);
    const s = (performance.now() - t) / 1000;
    console.log(
      `one claimer, batch ${batch}: ${r.claimed} runs in ${fmt(s, 2)} s = ${fmt(r.claimed / s, 0)} runs/s; claim transaction p50 ${fmt(percentile(r.latencies, 50), 1)} ms, p95 ${fmt(percentile(r.latencies, 95), 1)} ms`,
    );
  }

  // ── 3. two claimers (separate pools = separate sessions, like two processes) ──
  const other = await openPostgres(url, { poolSize: 10 });
  try {
    await makeAllDue();
    const t = performance.now();
    const [a, b] = await Promise.all([drain(db, "bench:a", 25), drain(other, "bench:b", 25)]);
    const s = (performance.now() - t) / 1000;
    const [{ runs, distinct }] = await db.sql.query<{ runs: number; distinct: number }>(
      `SELECT count(*)::int AS runs, count(DISTINCT schedule_id)::int AS distinct FROM schedule_runs`,
    );
    console.log(
      `two claimers, batch 25: ${a.claimed} + ${b.claimed} runs in ${fmt(s, 2)} s = ${fmt((a.claimed + b.claimed) / s, 0)} runs/s; ` +
        `${runs} run rows for ${distinct} schedules (duplicates: ${runs - distinct}); claim p95 ${fmt(percentile([...a.latencies, ...b.latencies], 95), 1)} ms`,
    );
  } finally {
    await other.close();
  }

  // ── 4. an idle poll: nothing due, a long history ──
  await db.sql.query(
    `INSERT INTO schedule_runs (schedule_id, trigger, status, due_at, started_at, finished_at, claimed_by)
     SELECT s.id, 'schedule', 'succeeded', now() - g * interval '1 day', now() - g * interval '1 day', now() - g * interval '1 day', 'bench:h'
     FROM (SELECT id FROM schedules LIMIT 1000) s CROSS JOIN generate_series(1, 50) g`,
  );
  await db.sql.exec(`ANALYZE schedules; ANALYZE schedule_runs`);
  const [{ history }] = await db.sql.query<{ history: number }>(`SELECT count(*)::int AS history FROM schedule_runs`);
  const idle: number[] = [];
  for (let i = 0; i < 50; i++) {
    const t = performance.now();
    await syncHandedOffRuns(db);
    await failDeadRuns(db, 120);
    await claimDueRuns(db, opts("bench:idle", 25));
    idle.push(performance.now() - t);
  }
  console.log(
    `idle poll (sync + dead-run check + claim) with ${N} schedules and ${history.toLocaleString()} history rows: p50 ${fmt(percentile(idle, 50), 1)} ms, p95 ${fmt(percentile(idle, 95), 1)} ms`,
  );
} finally {
  await scratch.drop();
}
