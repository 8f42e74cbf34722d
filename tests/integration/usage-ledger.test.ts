// The usage ledger and budgets on real PostgreSQL, with the fake Ollama reporting durations, through the
// real `ollama` client: every model call of an ask lands in the ledger on whose behalf it was made, the
// Prometheus counters equal the ledger's sums, a budget reservation holds under 20 concurrent callers,
// budget mode flips at the threshold and shows in the ask payload, a used-up budget refuses with 429
// naming it, an exempt model is not counted, and windows close exactly once.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ask } from "@/lib/answer";
import type { AccessContext } from "@/lib/access/context";
import { getConfig, resetConfig } from "@/lib/config";
import { createTarget } from "@/lib/notify";
import { isAppError } from "@/lib/errors";
import { getLlm } from "@/lib/llm";
import { renderMetrics } from "@/lib/metrics";
import { closeBudgetWindows, listBudgets, removeBudget, setBudget, setModelExemption } from "@/lib/usage/budgets";
import { ledgerSums } from "@/lib/usage/queries";
import { beginModelCall, endModelCall, flushUsage } from "@/lib/usage/meter";
import { usageScopeFor, withUsage } from "@/lib/usage/scope";
import { usageSummary } from "@/lib/usage/ledger";
import { addCollection, addPages, startAskEnv, stopAskEnv, WIKI } from "@/tests/integration/ask-fixtures";
import { accessOf, makeApiKey, keyAccessOf, makeUser, type TestUser } from "@/tests/helpers/auth";
import { until } from "@/tests/helpers/until";
import { openPostgres } from "@/lib/db/client";

let env: Awaited<ReturnType<typeof startAskEnv>>;
let admin: AccessContext;
let alice: TestUser;
let aliceCtx: AccessContext;

beforeAll(async () => {
  env = await startAskEnv({ ollama: { durations: { promptNsPerToken: 1_000_000, evalNsPerToken: 25_000_000, loadNs: 3_000_000_000 } } });
  const main = await addCollection(env.db, "main");
  await addPages(env.db, main, WIKI);
  admin = await accessOf(env.db, await makeUser(env.db, "admin"));
  alice = await makeUser(env.db, "viewer");
  aliceCtx = await accessOf(env.db, alice);
}, 120_000);
afterAll(() => stopAskEnv(env));

const metric = (text: string, name: string, labels: string) => Number(new RegExp(`^${name}\\{${labels.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}\\} (\\S+)$`, "m").exec(text)?.[1] ?? "0");

describe("usage ledger", () => {
  it("records every model call of an ask for the asker, with GPU-seconds from Ollama's durations, load time apart", async () => {
    await flushUsage();
    await env.db.sql`DELETE FROM model_usage`;
    const r = await ask(aliceCtx, { question: "How do I file an expense report?", stream: false });
    expect(r.status).toBe("ok");
    await flushUsage();
    const rows = await env.db.sql<{ op: string; model: string; prompt_tokens: number; completion_tokens: number; gpu_seconds: number; load_seconds: number; user_id: string; principal_kind: string }>`
      SELECT op, model, prompt_tokens, completion_tokens, gpu_seconds, load_seconds, user_id::text, principal_kind FROM model_usage ORDER BY id`;
    expect(rows.map((x) => x.op)).toEqual(["embed", "chat"]);
    for (const row of rows) expect(row).toMatchObject({ user_id: alice.id, principal_kind: "user", load_seconds: 3 });
    const chat = rows[1]!;
    expect(chat.prompt_tokens).toBe(r.tokens.prompt);
    expect(chat.completion_tokens).toBe(r.tokens.completion);
    // prompt_eval_duration + eval_duration, never the 3 s of loading.
    expect(chat.gpu_seconds).toBeCloseTo(chat.prompt_tokens * 0.001 + chat.completion_tokens * 0.025, 6);
    const embed = rows[0]!;
    expect(embed.gpu_seconds).toBeCloseTo(embed.prompt_tokens * 0.001, 6);
  });

  it("records follow-up rewrites and judge calls under their own operation, for a key's calls the key", async () => {
    const key = await makeApiKey(env.db, ["ask", "score"], { creator: alice as TestUser });
    const keyCtx = await keyAccessOf(env.db, key.key);
    await flushUsage();
    await env.db.sql`DELETE FROM model_usage`;
    await ask(keyCtx, { question: "And who approves it?", history: [{ role: "user", content: "How do I file an expense report?" }, { role: "assistant", content: "Use the form." }], stream: false });
    const { runJudge } = await import("@/lib/evaluate/judge");
    await withUsage(usageScopeFor(keyCtx), () => runJudge({ question: "q", output: "a", passages: [{ text: "p" }] }, { retries: 0 }));
    await flushUsage();
    const rows = await env.db.sql<{ op: string; api_key_id: string; user_id: string; principal_kind: string }>`
      SELECT op, api_key_id::text, user_id::text, principal_kind FROM model_usage ORDER BY id`;
    expect(rows.map((x) => x.op)).toEqual(["rewrite", "embed", "chat", "judge"]);
    for (const row of rows) expect(row).toMatchObject({ api_key_id: key.id, user_id: alice.id, principal_kind: "api_key" });
  });

  it("keeps the Prometheus counters equal to the ledger's sums", async () => {
    await flushUsage();
    await env.db.sql`DELETE FROM model_usage`;
    const before = await renderMetrics(env.db);
    // Calls of every kind, one failing: the counters and the ledger move together.
    await ask(aliceCtx, { question: "What is the on-call rotation?", stream: false });
    await ask(aliceCtx, { question: "And who is on call?", history: [{ role: "user", content: "What is the on-call rotation?" }], stream: false });
    await getLlm().embed(["one", "two", "three"], "document");
    await getLlm().chat([{ role: "user", content: "hello" }], { model: "missing-model:1b" }).catch(() => {});
    await flushUsage();
    const after = await renderMetrics(env.db);
    const delta = (name: string, labels: string) => metric(after, name, labels) - metric(before, name, labels);
    await flushUsage();
    const sums = await ledgerSums(env.db.sql);
    expect(new Set(sums.map((s) => s.op))).toEqual(new Set(["embed", "chat", "rewrite"]));
    for (const model of new Set(sums.map((s) => s.model))) {
      const of = sums.filter((s) => s.model === model);
      const total = (f: (s: (typeof sums)[number]) => number) => of.reduce((n, s) => n + f(s), 0);
      expect(delta("sot_model_tokens_total", `model="${model}",type="prompt"`)).toBe(total((s) => Number(s.prompt)));
      expect(delta("sot_model_tokens_total", `model="${model}",type="completion"`)).toBe(total((s) => Number(s.completion)));
      for (const s of of) {
        expect(delta("sot_model_gpu_seconds_total", `model="${model}",op="${s.op}"`)).toBeCloseTo(Number(s.gpu), 6);
        const calls = delta("sot_model_calls_total", `model="${model}",op="${s.op}",outcome="ok"`) + delta("sot_model_calls_total", `model="${model}",op="${s.op}",outcome="error"`);
        expect(calls).toBe(s.calls);
      }
    }
    expect(sums.find((s) => s.model === "missing-model:1b")?.calls).toBe(1);
    expect(delta("sot_model_calls_total", 'model="missing-model:1b",op="chat",outcome="error"')).toBe(1);
  });

  it("sums usage by day and by principal for admins only", async () => {
    await flushUsage();
    const summary = await usageSummary(admin, { days: 7 });
    expect(summary.totals.calls).toBeGreaterThan(0);
    expect(summary.principals.find((p) => p.key === `user:${alice.id}`)).toMatchObject({ label: alice.email, kind: "user" });
    expect(summary.days.every((d) => /^\d{4}-\d{2}-\d{2}$/.test(d.day))).toBe(true);
    await expect(usageSummary(aliceCtx)).rejects.toMatchObject({ status: 403 });
  });
});

describe("budgets", () => {
  it("holds a reservation under 20 concurrent callers: a nearly spent budget is overshot by at most one call's maximum", async () => {
    const bob = await makeUser(env.db, "viewer");
    const bobCtx = await accessOf(env.db, bob);
    const budget = await setBudget(admin, { scopeKind: "user", scopeId: bob.id, metric: "tokens", period: "day", limit: 100_000 });
    // Nearly spent: 1,000 tokens left; each call may use up to 64 prompt + 300 completion tokens.
    await env.db.sql`UPDATE budgets SET used = 99000 WHERE id = ${budget.id}::uuid`;
    const messages = [{ role: "user" as const, content: "x".repeat(150) }];
    const maxPerCall = Math.ceil(150 / 3) + 300;
    // Long answers: each call uses close to its maximum.
    env.ollama.options.onChat = () => "word ".repeat(290);
    const outcomes = await withUsage(usageScopeFor(bobCtx), () =>
      Promise.allSettled(Array.from({ length: 20 }, () => getLlm().chat(messages, { maxTokens: 300 }))),
    ).finally(() => (env.ollama.options.onChat = undefined));
    const ok = outcomes.filter((o) => o.status === "fulfilled").length;
    const refused = outcomes.filter((o) => o.status === "rejected");
    expect(ok).toBeGreaterThan(0);
    expect(refused.length).toBeGreaterThan(0);
    for (const r of refused) expect((r as PromiseRejectedResult).reason).toMatchObject({ status: 429, code: "budget_exhausted" });
    await flushUsage();
    const [row] = await env.db.sql<{ used: number; reserved: number }>`SELECT used, reserved FROM budgets WHERE id = ${budget.id}::uuid`;
    expect(Number(row!.reserved)).toBe(0);
    expect(Number(row!.used)).toBeGreaterThan(99_000);
    expect(Number(row!.used) - 100_000).toBeLessThanOrEqual(maxPerCall);
    // The ledger holds exactly the calls that were made.
    await flushUsage();
    const [{ n }] = (await env.db.sql<{ n: number }>`SELECT count(*)::int AS n FROM model_usage WHERE user_id = ${bob.id}::uuid`) as [{ n: number }];
    expect(n).toBe(ok);
  });

  it("holds the reservation across two processes' pools, each settling through its own group-commit writer", async () => {
    const gil = await makeUser(env.db, "viewer");
    // A second database handle is what a second process has: its own pool and its own writer.
    const other = env.db.url ? await openPostgres(env.db.url, { poolSize: 5 }) : env.db;
    try {
      const here = await accessOf(env.db, gil);
      const there = await accessOf(other, gil);
      const budget = await setBudget(admin, { scopeKind: "user", scopeId: gil.id, metric: "tokens", period: "day", limit: 100_000 });
      await env.db.sql`UPDATE budgets SET used = 99000 WHERE id = ${budget.id}::uuid`;
      const messages = [{ role: "user" as const, content: "x".repeat(150) }];
      const maxPerCall = Math.ceil(150 / 3) + 300;
      env.ollama.options.onChat = () => "word ".repeat(290);
      const call = (ctx: AccessContext) => withUsage(usageScopeFor(ctx), () => getLlm().chat(messages, { maxTokens: 300 }));
      const outcomes = await Promise.allSettled(Array.from({ length: 20 }, (_, i) => call(i % 2 ? there : here))).finally(
        () => (env.ollama.options.onChat = undefined),
      );
      const ok = outcomes.filter((o) => o.status === "fulfilled").length;
      expect(ok).toBeGreaterThan(0);
      expect(ok).toBeLessThan(20);
      await flushUsage();
      const [row] = await env.db.sql<{ used: number; reserved: number }>`SELECT used, reserved FROM budgets WHERE id = ${budget.id}::uuid`;
      expect(Number(row!.reserved)).toBe(0);
      expect(Number(row!.used) - 100_000).toBeLessThanOrEqual(maxPerCall);
      // What the budget used is exactly what the ledger holds for the calls both handles made.
      const [sum] = await env.db.sql<{ n: number; tokens: number }>`
        SELECT count(*)::int AS n, COALESCE(sum(prompt_tokens + completion_tokens), 0)::float8 AS tokens FROM model_usage WHERE user_id = ${gil.id}::uuid`;
      expect(sum!.n).toBe(ok);
      expect(Number(row!.used)).toBe(99_000 + Number(sum!.tokens));
    } finally {
      if (other !== env.db) await other.close();
    }
  });

  it("settles concurrent calls on a shared budget once each: its use is the ledger's sum and nothing stays reserved", async () => {
    const askers = await Promise.all([0, 1, 2, 3].map(async () => accessOf(env.db, await makeUser(env.db, "viewer"))));
    // An agent's budget stands in for a shared one no other test touches: every asker acts for the same agent.
    const budget = await setBudget(admin, { scopeKind: "agent", scopeId: "shared-agent", metric: "tokens", period: "day", limit: 1e9 });
    const results = await Promise.all(
      askers.flatMap((ctx) =>
        [0, 1, 2].map(() => withUsage({ ...usageScopeFor(ctx), agentId: "shared-agent" }, () => getLlm().chat([{ role: "user", content: "hello" }], { maxTokens: 50 }))),
      ),
    );
    expect(results).toHaveLength(12);
    await flushUsage();
    const [row] = await env.db.sql<{ used: number; reserved: number }>`SELECT used, reserved FROM budgets WHERE id = ${budget.id}::uuid`;
    const [sum] = await env.db.sql<{ n: number; tokens: number }>`
      SELECT count(*)::int AS n, COALESCE(sum(prompt_tokens + completion_tokens), 0)::float8 AS tokens FROM model_usage WHERE agent_id = 'shared-agent'`;
    expect(sum!.n).toBe(12);
    expect(Number(row!.reserved)).toBe(0);
    expect(Number(row!.used)).toBe(Number(sum!.tokens));
    await removeBudget(admin, budget.id);
  });

  it("applies a budget another process created without being told, within a second", async () => {
    const fay = await makeUser(env.db, "viewer");
    const fayCtx = await accessOf(env.db, fay);
    const before = await ask(fayCtx, { question: "How do I file an expense report?", stream: false });
    expect(before.budget).toMatchObject({ mode: "normal", limit: null });
    // Another process's admin: the row appears in the table, this process is not told.
    await env.db.sql`INSERT INTO budgets (scope_kind, scope_id, metric, period, limit_value, window_start, window_end)
                     VALUES ('user', ${fay.id}, 'tokens', 'day', 1000000, date_trunc('day', now()), date_trunc('day', now()) + interval '1 day')`;
    const after = await until("the new budget to apply", async () => {
      const r = await ask(fayCtx, { question: "How do I file an expense report?", stream: false });
      return r.budget.limit === 1_000_000 ? r : null;
    });
    expect(after.budget).toMatchObject({ mode: "normal", metric: "tokens" });
    await flushUsage();
    const [row] = await env.db.sql<{ used: number; reserved: number }>`SELECT used, reserved FROM budgets WHERE scope_id = ${fay.id}`;
    expect(Number(row!.used)).toBeGreaterThan(0);
    expect(Number(row!.reserved)).toBe(0);
  });

  it("flips to budget mode at the threshold (fallback model, fewer sources, no rewrite) and says so in the ask payload", async () => {
    const carol = await makeUser(env.db, "viewer");
    const carolCtx = await accessOf(env.db, carol);
    const budget = await setBudget(admin, { scopeKind: "user", scopeId: carol.id, metric: "tokens", period: "day", limit: 1_000_000, modeThreshold: 0.5 });
    const normal = await ask(carolCtx, { question: "How do I file an expense report?", stream: false });
    expect(normal.budget).toMatchObject({ mode: "normal", limit: 1_000_000, metric: "tokens", period: "day" });
    expect(normal.model).toBe(getConfig().OLLAMA_CHAT_MODEL);
    expect(normal.budget.used).toBeGreaterThanOrEqual(0);

    await env.db.sql`UPDATE budgets SET used = 500000 WHERE id = ${budget.id}::uuid`;
    await flushUsage();
    await env.db.sql`DELETE FROM model_usage`;
    const events: string[] = [];
    const degraded = await ask(
      carolCtx,
      { question: "And who approves it?", history: [{ role: "user", content: "How do I file an expense report?" }, { role: "assistant", content: "Use the form." }], stream: false },
      { onEvent: (e) => e.event === "start" && events.push(e.data.budget.mode) },
    );
    expect(events).toEqual(["budget"]);
    expect(degraded.budget).toMatchObject({ mode: "budget", limit: 1_000_000, name: `daily token budget of user ${carol.email}` });
    expect(degraded.budget.used).toBeGreaterThanOrEqual(500_000);
    expect(degraded.model).toBe(getConfig().OLLAMA_FALLBACK_MODEL);
    expect(degraded.sources.length).toBeLessThanOrEqual(getConfig().BUDGET_MODE_MAX_SOURCES);
    await flushUsage();
    const ops = (await env.db.sql<{ op: string }>`SELECT op FROM model_usage ORDER BY id`).map((r) => r.op);
    expect(ops).not.toContain("rewrite");
  });

  it("refuses new work with 429 at 100%, naming the budget and until when; an exempt model is not counted", async () => {
    const dave = await makeUser(env.db, "viewer");
    const daveCtx = await accessOf(env.db, dave);
    const budget = await setBudget(admin, { scopeKind: "user", scopeId: dave.id, metric: "gpu_seconds", period: "month", limit: 10 });
    await env.db.sql`UPDATE budgets SET used = 10 WHERE id = ${budget.id}::uuid`;
    const err = await ask(daveCtx, { question: "How do I file an expense report?", stream: false }).catch((e: unknown) => e);
    expect(isAppError(err)).toBe(true);
    expect(err).toMatchObject({ status: 429, code: "budget_exhausted" });
    expect((err as Error).message).toBe(`The monthly GPU-second budget of user ${dave.email} is used up; new work is refused until ${budget.windowEnd}.`);
    expect((err as { headers: Record<string, string> }).headers["Retry-After"]).toMatch(/^\d+$/);

    // The embedding model exempted: its calls go through and leave the budget as it was.
    await setModelExemption(admin, getConfig().OLLAMA_EMBED_MODEL, true);
    await withUsage(usageScopeFor(daveCtx), () => getLlm().embed(["exempt"], "query"));
    await flushUsage();
    const [row] = await env.db.sql<{ used: number }>`SELECT used FROM budgets WHERE id = ${budget.id}::uuid`;
    expect(Number(row!.used)).toBe(10);
    await setModelExemption(admin, getConfig().OLLAMA_EMBED_MODEL, false);
    await expect(withUsage(usageScopeFor(daveCtx), () => getLlm().embed(["counted"], "query"))).rejects.toMatchObject({ status: 429 });
    const audit = await env.db.prisma.auditLog.findMany({ where: { action: { startsWith: "budget." } }, select: { action: true } });
    expect(audit.map((a) => a.action)).toEqual(expect.arrayContaining(["budget.create", "budget.exempt_model", "budget.unexempt_model"]));
  });

  it("writes a burst of calls in a few statements (at most one per window), a call after a quiet spell at once, and flushes without waiting", async () => {
    // A long window, so that "at once" and "without waiting" stay far apart from it on a loaded machine.
    const WINDOW = 1500;
    process.env.USAGE_WRITE_WINDOW_MS = String(WINDOW);
    resetConfig();
    try {
      await flushUsage();
      await env.db.sql`DELETE FROM model_usage`;
      const frank = await makeUser(env.db, "viewer");
      const frankScope = usageScopeFor(await accessOf(env.db, frank));
      const call = () =>
        withUsage(frankScope, async () => {
          const ticket = await beginModelCall("llama3.3:70b-instruct-q4_K_M", "chat", { tokens: 10, gpuSeconds: 0 });
          await endModelCall(ticket, { model: "llama3.3:70b-instruct-q4_K_M", promptTokens: 5, completionTokens: 5, gpuSeconds: 0.1, loadSeconds: 0, ok: true });
        });
      const rows = async () => (await env.db.sql<{ n: number }>`SELECT count(*)::int AS n FROM model_usage WHERE user_id = ${frank.id}::uuid`)[0]!.n;
      const landed = async (n: number) => {
        const started = performance.now();
        while ((await rows()) < n) await new Promise((r) => setTimeout(r, 5));
        return performance.now() - started;
      };
      // A quiet spell (the flush's own statement was the last): then one call is written at once.
      await new Promise((r) => setTimeout(r, WINDOW));
      await call();
      expect(await landed(1)).toBeLessThan(WINDOW / 2);
      // Twelve calls 10 ms apart: the first waits for the window after the lone call's statement, the rest
      // join it — one statement, whose rows share its transaction's now().
      for (let i = 0; i < 12; i++) {
        await call();
        await new Promise((r) => setTimeout(r, 10));
      }
      expect(await rows()).toBe(1);
      expect(await landed(13)).toBeLessThan(WINDOW * 2);
      // The next burst is held for the window again, and flushUsage writes it without waiting for it.
      for (let i = 0; i < 3; i++) await call();
      const flushStarted = performance.now();
      await flushUsage();
      expect(performance.now() - flushStarted).toBeLessThan(WINDOW / 2);
      const [written] = await env.db.sql<{ rows: number; statements: number }>`
        SELECT count(*)::int AS rows, count(DISTINCT at)::int AS statements FROM model_usage WHERE user_id = ${frank.id}::uuid`;
      expect(written).toEqual({ rows: 16, statements: 3 });
      // A second handle (a second process's pool) closed while its writer holds rows for the window: close()
      // writes them first.
      if (env.db.url) {
        const other = await openPostgres(env.db.url, { poolSize: 2 });
        const otherScope = usageScopeFor(await accessOf(other, frank));
        const callThere = () =>
          withUsage(otherScope, async () => {
            const ticket = await beginModelCall("llama3.3:70b-instruct-q4_K_M", "chat", { tokens: 10, gpuSeconds: 0 });
            await endModelCall(ticket, { model: "llama3.3:70b-instruct-q4_K_M", promptTokens: 5, completionTokens: 5, gpuSeconds: 0.1, loadSeconds: 0, ok: true });
          });
        await callThere();
        await landed(17);
        for (let i = 0; i < 4; i++) await callThere();
        expect(await rows()).toBe(17);
        await other.close();
        expect(await rows()).toBe(21);
      }
    } finally {
      delete process.env.USAGE_WRITE_WINDOW_MS;
      resetConfig();
    }
  });

  it("lands a finished call's release at once when it frees room on a budget near its limit, window or not", async () => {
    const WINDOW = 1500;
    process.env.USAGE_WRITE_WINDOW_MS = String(WINDOW);
    resetConfig();
    try {
      const hana = await makeUser(env.db, "viewer");
      // 1,000 tokens: too little to lease for calls of up to 300, so each call reserves for itself by statement.
      const budget = await setBudget(admin, { scopeKind: "user", scopeId: hana.id, metric: "tokens", period: "day", limit: 1000 });
      const scope = usageScopeFor(await accessOf(env.db, hana));
      const model = "llama3.3:70b-instruct-q4_K_M";
      const state = async () => (await env.db.sql<{ used: number; reserved: number }>`SELECT used::float8 AS used, reserved::float8 AS reserved FROM budgets WHERE id = ${budget.id}::uuid`)[0]!;
      // The writer has just written (the flush's statement), so bookkeeping would wait for the window now.
      await flushUsage();
      const ticket = await withUsage(scope, () => beginModelCall(model, "chat", { tokens: 300, gpuSeconds: 0 }));
      expect(await state()).toEqual({ used: 0, reserved: 300 });
      await endModelCall(ticket, { model, promptTokens: 5, completionTokens: 5, gpuSeconds: 0.1, loadSeconds: 0, ok: true });
      const started = performance.now();
      while ((await state()).reserved > 0) await new Promise((r) => setTimeout(r, 5));
      // The 290 tokens the call did not use are room again long before the window would have passed.
      expect(performance.now() - started).toBeLessThan(WINDOW / 2);
      expect(await state()).toEqual({ used: 10, reserved: 0 });
    } finally {
      delete process.env.USAGE_WRITE_WINDOW_MS;
      resetConfig();
    }
  });

  it("tells the notification targets once when a budget enters budget mode and once when it is used up", async () => {
    process.env.OUTBOUND_ALLOW = "127.0.0.1";
    resetConfig();
    try {
      await createTarget(admin, { kind: "webhook", name: "budget watch", url: "http://127.0.0.1:9/hooks/budgets", events: ["budget.mode"] });
    } finally {
      delete process.env.OUTBOUND_ALLOW;
      resetConfig();
    }
    const dave = await makeUser(env.db, "viewer");
    const budget = await setBudget(admin, { scopeKind: "user", scopeId: dave.id, metric: "tokens", period: "day", limit: 1000, modeThreshold: 0.5 });
    // Four calls of 300, 300, 300 and 200 tokens: the second crosses 500 (budget mode), the fourth 1,000.
    await withUsage(usageScopeFor(await accessOf(env.db, dave)), async () => {
      for (const used of [300, 300, 300, 200]) {
        const ticket = await beginModelCall("llama3.3:70b-instruct-q4_K_M", "chat", { tokens: 10, gpuSeconds: 0 });
        await endModelCall(ticket, { model: "llama3.3:70b-instruct-q4_K_M", promptTokens: used - 50, completionTokens: 50, gpuSeconds: 1, loadSeconds: 0, ok: true });
        await flushUsage();
      }
    });
    const sent = await until("both notifications", async () => {
      const rows = await env.db.prisma.notificationDelivery.findMany({ where: { eventKind: "budget.mode" }, orderBy: { createdAt: "asc" } });
      return rows.length >= 2 ? rows : null;
    });
    // Each is sent off the calls' path, so the two deliveries may be written in either order: sorted by use.
    expect(sent.map((d) => d.event as { used: number }).sort((a, b) => a.used - b.used)).toEqual([
      { kind: "budget.mode", budget: budget.id, state: "entered", used: 600, limit: 1000, unit: "tokens" },
      { kind: "budget.mode", budget: budget.id, state: "exhausted", used: 1100, limit: 1000, unit: "tokens" },
    ]);
    // Nothing more: the calls that did not cross a line sent nothing, and no body names a person or a question.
    await new Promise((r) => setTimeout(r, 300));
    expect(await env.db.prisma.notificationDelivery.count({ where: { eventKind: "budget.mode" } })).toBe(2);
  });

  it("lets only admins set budgets, and names a wrong scope", async () => {
    await expect(setBudget(aliceCtx, { scopeKind: "global", metric: "tokens", period: "day", limit: 5 })).rejects.toMatchObject({ status: 403 });
    await expect(setBudget(admin, { scopeKind: "user", scopeId: "00000000-0000-4000-8000-000000000000", metric: "tokens", period: "day", limit: 5 })).rejects.toMatchObject({
      status: 400,
      details: [{ path: "scopeId" }],
    });
    await expect(setBudget(admin, { scopeKind: "global", scopeId: "x", metric: "tokens", period: "day", limit: 5 })).rejects.toMatchObject({ name: "ZodError" });
  });

  it("closes an ended window exactly once with two schedulers at the same time, and old usage never counts in the new window", async () => {
    const erin = await makeUser(env.db, "viewer");
    const erinCtx = await accessOf(env.db, erin);
    const budget = await setBudget(admin, { scopeKind: "user", scopeId: erin.id, metric: "tokens", period: "day", limit: 1_000_000 });
    // A call reserved in the old window, settled after the window closed.
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const slow = withUsage(usageScopeFor(erinCtx), async () => {
      const stream = getLlm().chatStream([{ role: "user", content: "hello there" }], { maxTokens: 50 });
      const first = await stream.next();
      await gate;
      for await (const _ of stream);
      return first;
    });
    await new Promise((r) => setTimeout(r, 200));
    await env.db.sql`UPDATE budgets SET used = 700000, window_start = window_start - interval '1 day', window_end = now() - interval '1 second' WHERE id = ${budget.id}::uuid`;
    const closed = await Promise.all([closeBudgetWindows(env.db), closeBudgetWindows(env.db)]);
    expect(closed.reduce((a, b) => a + b, 0)).toBe(1);
    expect(await closeBudgetWindows(env.db)).toBe(0);
    await flushUsage();
    const windows = await env.db.sql<{ used: number }>`SELECT used FROM budget_windows WHERE budget_id = ${budget.id}::uuid`;
    expect(windows.map((w) => Number(w.used))).toEqual([700000]);
    release();
    await slow;
    await flushUsage();
    const view = (await listBudgets(admin)).budgets.find((b) => b.id === budget.id)!;
    expect(view.used).toBe(0);
    expect(view.reserved).toBe(0);
    expect(new Date(view.windowEnd).getTime()).toBeGreaterThan(Date.now());
    await removeBudget(admin, budget.id);
  });
});
