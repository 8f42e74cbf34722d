// Agents' tokens and KES's grant rules for agents, on a real database: delegation chains are resolved on
// every call and die with any link (revoked, expired, agent or owner disabled, too deep); a holder of
// "grant" grants at most what it holds and never past its own grant; what an agent may revoke.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { accessContextFor, type AccessContext } from "@/lib/access/context";
import { agentPrincipal } from "@/lib/agents/principal";
import { createAgent, issueToken, setAgentDisabled } from "@/lib/agents/service";
import { resolveAgentBearer } from "@/lib/agents/tokens";
import { generateMasterKey, ringFrom } from "@/lib/crypto/keys";
import { KesClient, inProcessTransport } from "@/lib/kes/client";
import { serviceTable, type KesInstance } from "@/lib/kes/protocol";
import { accessOf, makeUser, type TestUser } from "@/tests/helpers/auth";
import { createTestDb, type TestDb } from "@/tests/helpers/db";
import { resetConfig } from "@/lib/config";
import { getLlm, resetLlm } from "@/lib/llm";
import { flushUsage } from "@/lib/usage/meter";
import { usageScopeFor, withUsage } from "@/lib/usage/scope";
import { startFakeOllama, type FakeOllama } from "@/tests/fakes/ollama";

let db: TestDb;
let owner: TestUser;
let adminCtx: AccessContext;
let inst: KesInstance;
const SERVICE = "service-token-0123456789abcdefghij";
const creds: Record<string, string> = {};

async function ctxOf(bearer: string): Promise<AccessContext> {
  const p = await agentPrincipal(db, bearer);
  if (!p) throw new Error("refused");
  return accessContextFor(db, p);
}
const failure = (p: Promise<unknown>) =>
  p.then(
    () => {
      throw new Error("expected a refusal");
    },
    (e: { status: number; message: string; details?: Array<{ path: string }> }) => e,
  );

beforeAll(async () => {
  db = await createTestDb();
  owner = await makeUser(db, "admin");
  adminCtx = await accessOf(db, owner);
  for (const name of ["ag-a", "ag-b", "ag-c", "ag-d", "ag-e", "ag-f"]) creds[name] = (await createAgent(adminCtx, { name })).credential;
  inst = { db, ring: ringFrom([generateMasterKey()], { kind: "env" }), services: serviceTable(`sot-web:${SERVICE}`) };
}, 120_000);
afterAll(async () => {
  await db?.drop();
});

describe("agent tokens", () => {
  it("narrow along a delegation chain and die with any link", async () => {
    const a = await issueToken(await ctxOf(creds["ag-a"]!), { ttlSeconds: 600 });
    const ab = await issueToken(await ctxOf(a.token), { agent: "ag-b", cubby: "notes", operations: ["read", "grant"], ttlSeconds: 300 });
    const bc = await issueToken(await ctxOf(ab.token), { agent: "ag-c", operations: ["read"] });
    const c = (await resolveAgentBearer(db.sql, bc.token))!;
    expect(c).toMatchObject({ name: "ag-c", authority: "ag-a", cubby: "notes", operations: ["read"], chain: ["ag-c", "ag-b", "ag-a"] });
    expect(c.expiresAt!.getTime()).toBeLessThanOrEqual(Date.parse(ab.view.expiresAt));

    // at most 4 tokens deep
    const cd = await issueToken(await ctxOf(bc.token), { agent: "ag-d" });
    expect(await failure(ctxOf(cd.token).then((x) => issueToken(x, { agent: "ag-e" })))).toMatchObject({ status: 403 });

    // a disabled agent in the middle refuses everything below it, at once
    await setAgentDisabled(adminCtx, "ag-b", true);
    expect(await resolveAgentBearer(db.sql, bc.token)).toBeNull();
    expect(await resolveAgentBearer(db.sql, a.token)).not.toBeNull();
    await setAgentDisabled(adminCtx, "ag-b", false);
    expect(await resolveAgentBearer(db.sql, bc.token)).not.toBeNull();

    // an expired parent: its children are refused
    await db.prisma.agentToken.update({ where: { id: ab.view.id }, data: { expiresAt: new Date(Date.now() - 1000) } });
    expect(await resolveAgentBearer(db.sql, bc.token)).toBeNull();
    expect(await resolveAgentBearer(db.sql, ab.token)).toBeNull();
  });

  it("die with their owner, and refuse malformed or unknown bearers", async () => {
    const other = await makeUser(db, "admin");
    const made = await createAgent(await accessOf(db, other), { name: "ag-owned" });
    const t = await issueToken(await ctxOf(made.credential), {});
    expect(await resolveAgentBearer(db.sql, t.token)).not.toBeNull();
    await db.prisma.user.update({ where: { id: other.id }, data: { disabledAt: new Date() } });
    expect(await resolveAgentBearer(db.sql, t.token)).toBeNull();
    expect(await resolveAgentBearer(db.sql, made.credential)).toBeNull();
    expect(await resolveAgentBearer(db.sql, "sot_at_short")).toBeNull();
    expect(await resolveAgentBearer(db.sql, `sot_at_${"A".repeat(43)}`)).toBeNull();
  });

  it("refuse bad requests with the field at fault", async () => {
    const a = await issueToken(await ctxOf(creds["ag-a"]!), { ttlSeconds: 60 });
    expect(await failure(issueToken(await ctxOf(a.token), { agent: "nobody" }))).toMatchObject({ status: 404 });
    const tooLong = await failure(issueToken(await ctxOf(creds["ag-a"]!), { ttlSeconds: 90_000 }));
    expect(tooLong.status).toBe(400);
    const outlive = await failure(issueToken(await ctxOf(a.token), { agent: "ag-b", ttlSeconds: 120 }));
    expect(outlive.status).toBe(400);
    expect(outlive.details?.[0]?.path).toBe("ttlSeconds");
    expect(await failure(issueToken(await ctxOf(creds["ag-a"]!), { agent: "ag-b" }))).toMatchObject({ status: 403 });
  });
});

describe("model calls made with an agent token", () => {
  let ollama: FakeOllama;
  beforeAll(async () => {
    ollama = await startFakeOllama({});
    process.env.OLLAMA_HOST = ollama.url;
    resetConfig();
    resetLlm();
  });
  afterAll(async () => {
    await ollama?.close();
  });

  it("pass through the token's limits: each counts as a call on every limited link, the one past the limit is refused", async () => {
    const parent = await issueToken(await ctxOf(creds["ag-e"]!), { ttlSeconds: 600, maxCalls: 4 });
    const child = await issueToken(await ctxOf(parent.token), { agent: "ag-f" }); // parent: 1 call
    const ctx = await ctxOf(child.token); // parent: 2 calls (the child has no limit of its own: not counted on it)
    await withUsage(usageScopeFor(ctx), async () => {
      await getLlm().embed(["first"], "query"); // parent: 3
      await getLlm().embed(["second"], "query"); // parent: 4
      await expect(getLlm().embed(["third"], "query")).rejects.toThrow("stopped: limit reached (the agent token's calls)");
    });
    await flushUsage();
    const counts = await db.prisma.agentToken.findMany({ where: { id: { in: [parent.view.id, child.view.id] } }, select: { id: true, calls: true } });
    expect(Object.fromEntries(counts.map((c) => [c.id, c.calls]))).toEqual({ [parent.view.id]: 4, [child.view.id]: 0 });
    // The ledger has the two calls, on behalf of the agent.
    const rows = await db.sql<{ agent_id: string }>`SELECT agent_id::text FROM model_usage WHERE agent_id IS NOT NULL`;
    expect(rows).toHaveLength(2);
    // And the token is stopped for its next call.
    expect((await agentPrincipal(db, child.token))!.agent!.stopped).toBe("4 calls of the token it was delegated from (agent:ag-e)");
  });
});

describe("KES grants held by agents", () => {
  it("grant at most what they hold, never past their own grant; revoke only what they may", async () => {
    const service = new KesClient(inProcessTransport(inst, SERVICE));
    const tokenOf = async (agent: string) => (await issueToken(await ctxOf(creds[agent]!), {})).token;
    const [ta, tb, tf] = [await tokenOf("ag-a"), await tokenOf("ag-b"), await tokenOf("ag-f")];
    const asA = service.asAgent(ta);
    const asB = service.asAgent(tb);
    await service.createKey("cubby.shared");
    const until = new Date(Date.now() + 3_600_000);
    await service.grant("cubby.shared", "agent:ag-a", { operations: ["decrypt", "grant"], expiresAt: until });

    // A holds decrypt+grant until `until`: it cannot give generate, nor a grant without end or past it
    expect(await failure(asA.grant("cubby.shared", "agent:ag-b", { operations: ["generate"] }))).toMatchObject({ status: 403 });
    expect(await failure(asA.grant("cubby.shared", "agent:ag-b", { operations: ["decrypt"] }))).toMatchObject({ status: 400 });
    expect(await failure(asA.grant("cubby.shared", "agent:ag-b", { operations: ["decrypt"], expiresAt: new Date(until.getTime() + 60_000) }))).toMatchObject({ status: 400 });
    await asA.grant("cubby.shared", "agent:ag-b", { operations: ["decrypt", "grant"], expiresAt: until });
    expect((await asB.access("cubby.shared")).operations).toEqual(["decrypt", "grant"]);
    // B cannot unseat A (a grant-bearing grant B did not make), but the owner can
    expect(await asB.revoke("cubby.shared", "agent:ag-a")).toEqual({ revoked: 0 });
    await asB.grant("cubby.shared", "agent:ag-f", { operations: ["decrypt"], expiresAt: until });
    expect(await asA.revoke("cubby.shared", "agent:ag-f")).toEqual({ revoked: 1 }); // no "grant" in it
    expect(await failure(service.asAgent(tf).access("cubby.shared"))).toMatchObject({ status: 404 });
    expect(await service.revoke("cubby.shared", "agent:ag-a")).toEqual({ revoked: 1 });
    expect(await failure(asA.access("cubby.shared"))).toMatchObject({ status: 404 });
    // agents never manage keys
    expect(await failure(asB.shred("cubby.shared"))).toMatchObject({ status: 403 });
    expect(await failure(asB.createKey("mine"))).toMatchObject({ status: 403 });
    // a credential is no KES caller
    expect(await failure(service.asAgent(creds["ag-a"]!).listKeys())).toMatchObject({ status: 401 });
  });
});
