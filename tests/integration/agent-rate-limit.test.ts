// An agent's rate-limit bucket through the real route wrapper (lib/http/route.ts) on a real database: the
// burst at once (also to concurrent requests of one agent), then 429 with Retry-After; one bucket per agent;
// a revoked token takes nothing from the agent's bucket; a token with a call limit is limited the same way
// and its calls are still counted.
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { accessContextFor } from "@/lib/access/context";
import { agentPrincipal } from "@/lib/agents/principal";
import { createAgent, issueToken, revokeToken } from "@/lib/agents/service";
import { resetConfig } from "@/lib/config";
import { setDb } from "@/lib/db/client";
import { route } from "@/lib/http/route";
import { accessOf, makeUser } from "@/tests/helpers/auth";
import { createTestDb, type TestDb } from "@/tests/helpers/db";

let db: TestDb;
const handler = route({ permission: "agent" }, async ({ access }) => ({ agent: access.principal.agent!.name }));

async function call(token: string): Promise<{ status: number; retryAfter: string | null }> {
  const res = await handler(new Request("http://sot.test/api/x", { headers: { authorization: `Bearer ${token}`, host: "sot.test" } }));
  await res.text();
  return { status: res.status, retryAfter: res.headers.get("retry-after") };
}

async function agentWithToken(opts: { maxCalls?: number } = {}) {
  const admin = await accessOf(db, await makeUser(db, "admin"));
  const name = `rl-${randomBytes(4).toString("hex")}`;
  const { credential, agent } = await createAgent(admin, { name });
  const ctx = await accessContextFor(db, (await agentPrincipal(db, credential))!);
  const issued = await issueToken(ctx, { ttlSeconds: 600, ...(opts.maxCalls ? { maxCalls: opts.maxCalls } : {}) });
  return { name, agentId: agent.id, token: issued.token, tokenId: issued.view.id, admin };
}

const bucketOf = async (agentId: string) =>
  (await db.sql.query<{ tokens: number }>("SELECT tokens FROM rate_limit_buckets WHERE key = $1", [`agent:${agentId}`]))[0] ?? null;

beforeAll(async () => {
  process.env.RATE_LIMIT_BURST = "4";
  process.env.RATE_LIMIT_PER_MINUTE = "6";
  process.env.LOG_LEVEL = "warn";
  delete process.env.REDIS_URL;
  resetConfig();
  db = await createTestDb();
  setDb(db);
}, 120_000);
afterAll(async () => {
  delete process.env.RATE_LIMIT_BURST;
  delete process.env.RATE_LIMIT_PER_MINUTE;
  resetConfig();
  await db?.drop();
});

describe("an agent's rate-limit bucket", () => {
  it("grants the burst, then answers 429 with Retry-After; another agent keeps its own bucket", async () => {
    const a = await agentWithToken();
    const b = await agentWithToken();
    const statuses = [];
    for (let i = 0; i < 5; i++) statuses.push((await call(a.token)).status);
    expect(statuses).toEqual([200, 200, 200, 200, 429]);
    const refused = await call(a.token);
    expect(refused.status).toBe(429);
    expect(Number(refused.retryAfter)).toBeGreaterThanOrEqual(1);
    expect(Number(refused.retryAfter)).toBeLessThanOrEqual(10);
    expect(Number((await bucketOf(a.agentId))!.tokens)).toBeLessThan(1);
    expect((await call(b.token)).status).toBe(200);
  });

  it("grants exactly the burst to concurrent requests of one agent", async () => {
    const a = await agentWithToken();
    const statuses = await Promise.all(Array.from({ length: 10 }, () => call(a.token).then((r) => r.status)));
    expect(statuses.filter((s) => s === 200)).toHaveLength(4);
    expect(statuses.filter((s) => s === 429)).toHaveLength(6);
  });

  it("takes nothing from the agent's bucket for a revoked token (401, drawn from the address's bucket)", async () => {
    const a = await agentWithToken();
    expect((await call(a.token)).status).toBe(200);
    const before = Number((await bucketOf(a.agentId))!.tokens);
    await revokeToken(a.admin, a.tokenId);
    expect((await call(a.token)).status).toBe(401);
    expect(Number((await bucketOf(a.agentId))!.tokens)).toBeGreaterThanOrEqual(before);
  });

  it("a token with a call limit: its bucket is still taken and its calls still counted", async () => {
    const a = await agentWithToken({ maxCalls: 10 });
    const statuses = [];
    for (let i = 0; i < 5; i++) statuses.push((await call(a.token)).status);
    expect(statuses).toEqual([200, 200, 200, 200, 429]);
    const [t] = await db.sql.query<{ calls: number }>("SELECT calls FROM agent_tokens WHERE id = $1::uuid", [a.tokenId]);
    expect(t!.calls).toBe(5);
  });
});
