// Budget leases on real PostgreSQL (lib/usage/lease.ts): work reserves out of a lease in memory without a
// statement; two database handles (what two processes have) never lease beyond a budget's limit; a nearly spent
// budget is still overshot by at most one call's maximum under 20 concurrent callers; a new window drops the
// old window's lease; another process's change of a limit shows within the lease's lifetime; and leases go back
// at flushUsage() and when idle; what a killed process held is given back once its holder has been silent long
// enough, and never twice. Statements are counted on the real `pg` pool, under our code.
import { spawn } from "node:child_process";
import path from "node:path";
import pg from "pg";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { AccessContext } from "@/lib/access/context";
import { closeDb, openedDb, openPostgres, setDb, type Db } from "@/lib/db/client";
import { getLlm } from "@/lib/llm";
import { getConfig } from "@/lib/config";
import { renderProcessMetrics } from "@/lib/metrics";
import { restartBudget, setBudget } from "@/lib/usage/budgets";
import { closeEndedWindows } from "@/lib/usage/queries";
import { HOLDER_DEAD_AFTER_S, LEASE_MS } from "@/lib/usage/lease";
import { flushUsage, reserveForWork } from "@/lib/usage/meter";
import { usageScopeFor, withUsage } from "@/lib/usage/scope";
import { addCollection, addPages, startAskEnv, stopAskEnv, WIKI } from "@/tests/integration/ask-fixtures";
import { accessOf, makeUser } from "@/tests/helpers/auth";
import { until } from "@/tests/helpers/until";

let env: Awaited<ReturnType<typeof startAskEnv>>;
let admin: AccessContext;

beforeAll(async () => {
  env = await startAskEnv();
  await addPages(env.db, await addCollection(env.db, "main"), WIKI);
  admin = await accessOf(env.db, await makeUser(env.db, "admin"));
}, 120_000);
afterAll(() => stopAskEnv(env));
afterEach(() => flushUsage());

// Every statement any pool of this process sends (queries and checked-out connections), counted on pg's Pool.
let statements = 0;
const poolQuery = pg.Pool.prototype.query;
const poolConnect = pg.Pool.prototype.connect;
beforeAll(() => {
  pg.Pool.prototype.query = function (this: pg.Pool, ...args: unknown[]) {
    statements++;
    return (poolQuery as (...a: unknown[]) => unknown).apply(this, args);
  } as typeof poolQuery;
  pg.Pool.prototype.connect = function (this: pg.Pool, ...args: unknown[]) {
    statements++;
    return (poolConnect as (...a: unknown[]) => unknown).apply(this, args);
  } as typeof poolConnect;
});
afterAll(() => {
  pg.Pool.prototype.query = poolQuery;
  pg.Pool.prototype.connect = poolConnect;
});

async function counted<T>(fn: () => Promise<T>): Promise<{ value: T; statements: number }> {
  const before = statements;
  const value = await fn();
  return { value, statements: statements - before };
}

const E = { tokens: 1000, gpuSeconds: 0 };
const row = async (id: string) =>
  (await env.db.sql<{ used: number; reserved: number; generation: number }>`SELECT used::float8, reserved::float8, generation FROM budgets WHERE id = ${id}::uuid`)[0]!;

async function userWithBudget(limit: number, extra: { used?: number; modeThreshold?: number } = {}) {
  const user = await makeUser(env.db, "viewer");
  const budget = await setBudget(admin, { scopeKind: "user", scopeId: user.id, metric: "tokens", period: "day", limit, modeThreshold: extra.modeThreshold });
  if (extra.used) await env.db.sql`UPDATE budgets SET used = ${extra.used} WHERE id = ${budget.id}::uuid`;
  return { user, budget, ctx: await accessOf(env.db, user) };
}

describe("budget leases", () => {
  it("reserves an ask's maximum out of the lease in memory: no statement on the answer's path", async () => {
    const { budget, ctx } = await userWithBudget(1e9);
    const scope = usageScopeFor(ctx);
    const cold = await counted(() => reserveForWork(scope, E));
    expect(cold.statements).toBeGreaterThanOrEqual(1); // the first takes the lease, by statement
    cold.value.release();
    const warm = await counted(() => reserveForWork(scope, E));
    expect(warm.statements).toBe(0);
    expect(warm.value.check).toMatchObject({ mode: "normal", nearest: { id: budget.id, limit: 1e9 } });
    // In the database: the lease's slice and the hold in it are one reservation, within the limit.
    const held = await row(budget.id);
    expect(held.reserved).toBeGreaterThanOrEqual(2 * E.tokens);
    warm.value.release();
    await flushUsage();
    expect(await row(budget.id)).toMatchObject({ used: 0, reserved: 0 });
  });

  it("settles a call made out of a lease exactly: used grows by its cost, and nothing stays reserved once the lease is back", async () => {
    const { budget, ctx } = await userWithBudget(1e9);
    await withUsage(usageScopeFor(ctx), () => getLlm().chat([{ role: "user", content: "warm" }], { maxTokens: 50 }));
    const calls = await withUsage(usageScopeFor(ctx), () => Promise.all([0, 1, 2].map(() => getLlm().chat([{ role: "user", content: "hello" }], { maxTokens: 50 }))));
    expect(calls).toHaveLength(3);
    await flushUsage();
    const [sum] = await env.db.sql<{ n: number; tokens: number }>`
      SELECT count(*)::int AS n, COALESCE(sum(prompt_tokens + completion_tokens), 0)::float8 AS tokens FROM model_usage m
      JOIN budgets b ON b.scope_id = m.user_id::text WHERE b.id = ${budget.id}::uuid`;
    expect(sum!.n).toBe(4);
    expect(await row(budget.id)).toMatchObject({ used: Number(sum!.tokens), reserved: 0 });
  });

  it("never leases beyond the limit across two database handles, and gives every lease back on flush", async () => {
    const other: Db = await openPostgres(env.db.url!, { poolSize: 5 });
    try {
      const user = await makeUser(env.db, "viewer");
      const limit = 40 * E.tokens;
      const budget = await setBudget(admin, { scopeKind: "user", scopeId: user.id, metric: "tokens", period: "day", limit });
      const here = usageScopeFor(await accessOf(env.db, user));
      const there = usageScopeFor(await accessOf(other, user));
      // Both handles hold a lease …
      (await reserveForWork(here, E)).release();
      (await reserveForWork(there, E)).release();
      expect((await row(budget.id)).reserved).toBeLessThanOrEqual(limit);
      // … and then 60 pieces of work race for a budget of 40, holding what they reserved.
      const outcomes = await Promise.allSettled(Array.from({ length: 60 }, (_, i) => reserveForWork(i % 2 ? there : here, E)));
      const admitted = outcomes.filter((o) => o.status === "fulfilled");
      const refused = outcomes.filter((o) => o.status === "rejected");
      expect(refused.length).toBeGreaterThan(0);
      for (const r of refused) expect((r as PromiseRejectedResult).reason).toMatchObject({ status: 429, code: "budget_exhausted" });
      const { reserved } = await row(budget.id);
      // Every admitted piece of work is backed by a reservation in the database, and the sum of leases and
      // reservations stays within one call of the limit (the last per-call reservation may cross it).
      expect(reserved).toBeGreaterThanOrEqual(admitted.length * E.tokens);
      expect(reserved).toBeLessThan(limit + E.tokens);
      expect(admitted.length).toBeLessThanOrEqual(40);
      for (const a of admitted) (a as PromiseFulfilledResult<Awaited<ReturnType<typeof reserveForWork>>>).value.release();
      await flushUsage();
      expect((await row(budget.id)).reserved).toBe(0);
    } finally {
      await other.close();
    }
  });

  it("overshoots a nearly spent budget by at most one call's maximum under 20 concurrent callers, leases and all", async () => {
    // 12,000 tokens left: room for leases at first, for per-call reservations near the end.
    const { user, budget, ctx } = await userWithBudget(100_000, { used: 88_000 });
    const messages = [{ role: "user" as const, content: "x".repeat(150) }];
    const maxPerCall = Math.ceil(150 / 3) + 300;
    env.ollama.options.onChat = () => "word ".repeat(290);
    let ok = 0;
    let refused = 0;
    try {
      for (let wave = 0; wave < 3; wave++) {
        const outcomes = await withUsage(usageScopeFor(ctx), () => Promise.allSettled(Array.from({ length: 20 }, () => getLlm().chat(messages, { maxTokens: 300 }))));
        ok += outcomes.filter((o) => o.status === "fulfilled").length;
        refused += outcomes.filter((o) => o.status === "rejected").length;
      }
    } finally {
      env.ollama.options.onChat = undefined;
    }
    expect(ok).toBeGreaterThan(20);
    expect(refused).toBeGreaterThan(0);
    await flushUsage();
    const after = await row(budget.id);
    expect(after.reserved).toBe(0);
    expect(after.used - 100_000).toBeLessThanOrEqual(maxPerCall);
    const [sum] = await env.db.sql<{ n: number; tokens: number }>`
      SELECT count(*)::int AS n, COALESCE(sum(prompt_tokens + completion_tokens), 0)::float8 AS tokens FROM model_usage WHERE user_id = ${user.id}::uuid`;
    expect(sum!.n).toBe(ok);
    expect(after.used).toBe(88_000 + Number(sum!.tokens));
  });

  it("drops a lease of an ended window: the new window starts with its own lease and old usage never counts in it", async () => {
    const { user, budget, ctx } = await userWithBudget(1e9);
    const scope = usageScopeFor(ctx);
    // The window ends in a moment; work takes a lease of it and is still running when it ends.
    await env.db.sql`UPDATE budgets SET window_end = now() + interval '1 second' WHERE id = ${budget.id}::uuid`;
    const { generation } = await row(budget.id);
    await flushUsage();
    const old = await reserveForWork(scope, E);
    const oldCall = withUsage({ ...scope, budgets: old.check, prepaid: old.prepaid }, () => getLlm().chat([{ role: "user", content: "old window" }], { maxTokens: 50 }));
    await oldCall;
    await until("the window to end", async () => (await env.db.sql<{ ended: boolean }>`SELECT window_end <= now() AS ended FROM budgets WHERE id = ${budget.id}::uuid`)[0]!.ended);
    // Another process's scheduler closes it (its statement, on its own pool); this process is not told.
    const other = await openPostgres(env.db.url!, { poolSize: 2 });
    try {
      expect((await closeEndedWindows(other.sql, getConfig().BUDGET_TIME_ZONE)).map((c) => String(c.id))).toContain(budget.id);
    } finally {
      await other.close();
    }
    // The old lease is past the window end it was taken with: new work reserves by statement, in the new window.
    const fresh = await counted(() => reserveForWork(scope, E));
    expect(fresh.statements).toBeGreaterThanOrEqual(1);
    await withUsage({ ...scope, budgets: fresh.value.check, prepaid: fresh.value.prepaid }, () => getLlm().chat([{ role: "user", content: "new window" }], { maxTokens: 50 }));
    fresh.value.release();
    old.release();
    await flushUsage();
    const [newCall] = await env.db.sql<{ tokens: number }>`
      SELECT (prompt_tokens + completion_tokens)::float8 AS tokens FROM model_usage WHERE user_id = ${user.id}::uuid ORDER BY id DESC LIMIT 1`;
    expect(await row(budget.id)).toMatchObject({ generation: generation + 1, used: Number(newCall!.tokens), reserved: 0 });
  });

  it("gives the lease back when this process restarts the window, and counts nothing of the old one in the new", async () => {
    const { budget, ctx } = await userWithBudget(1e9);
    const scope = usageScopeFor(ctx);
    const { generation } = await row(budget.id);
    (await reserveForWork(scope, E)).release();
    const running = await reserveForWork(scope, E);
    await restartBudget(admin, budget.id);
    const after = await counted(() => reserveForWork(scope, E));
    expect(after.statements).toBeGreaterThanOrEqual(1);
    after.value.release();
    running.release();
    await flushUsage();
    expect(await row(budget.id)).toMatchObject({ generation: generation + 1, used: 0, reserved: 0 });
  });

  it("sees another process's change of the limit within the lease's lifetime", async () => {
    const { budget, ctx } = await userWithBudget(1_000_000, { used: 500_000, modeThreshold: 0.8 });
    const scope = usageScopeFor(ctx);
    const first = await reserveForWork(scope, E);
    first.release();
    expect(first.check.mode).toBe("normal");
    // Another process's admin lowers the limit: 500,000 used of 550,000 is past the threshold.
    await env.db.sql`UPDATE budgets SET limit_value = 550000 WHERE id = ${budget.id}::uuid`;
    const changed = Date.now();
    const seen = await until(
      "the new limit",
      async () => {
        const r = await reserveForWork(scope, E);
        r.release();
        return r.check.nearest?.limit === 550_000 ? r.check : null;
      },
      10_000,
    );
    expect(Date.now() - changed).toBeLessThanOrEqual(LEASE_MS + 500);
    expect(seen.mode).toBe("budget");
  });

  it("hands its leases back before the process's database closes (a command that ends with closeDb())", async () => {
    const { user, budget } = await userWithBudget(1e9);
    const before = openedDb();
    const handle = await openPostgres(env.db.url!, { poolSize: 2 });
    setDb(handle);
    try {
      (await reserveForWork(usageScopeFor(await accessOf(handle, user)), E)).release();
      expect((await row(budget.id)).reserved).toBeGreaterThan(0);
      await closeDb(); // at once: well within the lease's lifetime, so the idle sweeper has not given it back
      expect((await row(budget.id)).reserved).toBe(0);
    } finally {
      if (before) setDb(await before);
    }
  });

  it("gives an idle lease back by itself within about its lifetime", async () => {
    const { budget, ctx } = await userWithBudget(1e9);
    (await reserveForWork(usageScopeFor(ctx), E)).release();
    expect((await row(budget.id)).reserved).toBeGreaterThan(0);
    const start = Date.now();
    await until("the idle lease to go back", async () => (await row(budget.id)).reserved === 0, 10_000);
    expect(Date.now() - start).toBeLessThanOrEqual(2 * LEASE_MS + 500);
  });

  // A real process, killed with SIGKILL while it holds a budget full.
  async function killedHolder(userId: string, count: number): Promise<void> {
    const child = spawn(process.execPath, ["--import", "tsx", path.join("tests", "integration", "budget-holder-process.ts"), env.db.url!, userId, String(count), String(E.tokens)], {
      cwd: path.resolve(import.meta.dirname, "../.."),
      env: { ...process.env, LOG_LEVEL: "error" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout!.on("data", (d) => (output += d));
    child.stderr!.on("data", (d) => (output += d));
    const exited = new Promise((resolve) => child.once("exit", resolve));
    try {
      await until("the child process to reserve", async () => output.includes("reserved") || child.exitCode !== null, 90_000);
      expect(output).toContain("reserved");
    } finally {
      child.kill("SIGKILL");
      await exited;
    }
  }
  const holdersOf = (budgetId: string) =>
    env.db.sql<{ holder_id: string; held: number }>`SELECT holder_id::text, held::float8 FROM budget_holdings WHERE budget_id = ${budgetId}::uuid AND held > 0`;
  // Time passing for a holder: its last beat moved back beyond HOLDER_DEAD_AFTER_S (or within it).
  const silentFor = (holderId: string, seconds: number) =>
    env.db.sql`UPDATE budget_holders SET heartbeat_at = now() - make_interval(secs => ${seconds}) WHERE id = ${holderId}::uuid`;

  it("gives back what a killed process held once its holder has been silent too long, and not before", async () => {
    const { user, budget, ctx } = await userWithBudget(4 * E.tokens);
    await killedHolder(user.id, 4); // too little room to lease: four per-call reservations fill the budget
    const held = await holdersOf(budget.id);
    expect(held).toHaveLength(1);
    expect(held[0]!.held).toBe(4 * E.tokens);
    expect((await row(budget.id)).reserved).toBe(4 * E.tokens);
    // Killed a moment ago (within HOLDER_DEAD_AFTER_S of its last beat): it could be a live process, so its
    // reservations stand and new work is refused.
    await silentFor(held[0]!.holder_id, HOLDER_DEAD_AFTER_S - 5);
    await expect(reserveForWork(usageScopeFor(ctx), E)).rejects.toMatchObject({ status: 429, code: "budget_exhausted" });
    expect((await row(budget.id)).reserved).toBe(4 * E.tokens);
    // Silent too long: the refused reservation gives back what the dead holder held, and goes through.
    const reaped = () => Number(/^sot_budget_holders_reaped_total (\d+)$/m.exec(renderProcessMetrics("test"))?.[1] ?? 0);
    const reapedBefore = reaped();
    await silentFor(held[0]!.holder_id, HOLDER_DEAD_AFTER_S + 1);
    const work = await reserveForWork(usageScopeFor(ctx), E);
    expect(reaped()).toBe(reapedBefore + 1);
    expect(await holdersOf(budget.id)).not.toContainEqual(expect.objectContaining({ holder_id: held[0]!.holder_id }));
    const [gone] = await env.db.sql<{ n: number }>`SELECT count(*)::int AS n FROM budget_holders WHERE id = ${held[0]!.holder_id}::uuid`;
    expect(gone!.n).toBe(0);
    expect((await row(budget.id)).reserved).toBe(E.tokens);
    work.release();
    await flushUsage();
    expect((await row(budget.id)).reserved).toBe(0);
  });

  it("never gives back twice: a process taken for dead that comes back releases nothing more", async () => {
    const { user, budget, ctx } = await userWithBudget(4 * E.tokens);
    const stalled: Db = await openPostgres(env.db.url!, { poolSize: 2 });
    try {
      // A stalled process holds two pieces of work; this one holds one.
      const late = [await reserveForWork(usageScopeFor(await accessOf(stalled, user)), E), await reserveForWork(usageScopeFor(await accessOf(stalled, user)), E)];
      const mine = await reserveForWork(usageScopeFor(ctx), E);
      const [theirs] = (await holdersOf(budget.id)).filter((h) => h.held === 2 * E.tokens);
      expect(theirs).toBeDefined();
      // It falls silent too long; this process's next refused reservation gives its two back and goes through.
      await reserveForWork(usageScopeFor(ctx), E).then((w) => w.release()); // room for one more: not refused, nothing reaped
      await silentFor(theirs!.holder_id, HOLDER_DEAD_AFTER_S + 1);
      const more = [await reserveForWork(usageScopeFor(ctx), E), await reserveForWork(usageScopeFor(ctx), E)];
      await flushUsage();
      expect((await row(budget.id)).reserved).toBe(3 * E.tokens);
      // The stalled process comes back: its next reservation registers its holder afresh (and is held by it) …
      const again = await reserveForWork(usageScopeFor(await accessOf(stalled, user)), E);
      expect((await row(budget.id)).reserved).toBe(4 * E.tokens);
      // … and the work it held before ends: what was given back for it is not given back again.
      for (const w of late) w.release();
      await flushUsage();
      expect((await row(budget.id)).reserved).toBe(4 * E.tokens);
      again.release();
      await flushUsage();
      expect((await row(budget.id)).reserved).toBe(3 * E.tokens);
      for (const w of [mine, ...more]) w.release();
      await flushUsage();
      expect((await row(budget.id)).reserved).toBe(0);
    } finally {
      await stalled.close();
    }
  });
});
