// KES's data-key path for agents, counted in statements on a real database: an agent's decrypt or
// generate reads the token's chain, the key and the grants in one statement and writes its audit row in
// one more, still checking everything on every call (a revoked grant, a revoked token and a shredded key
// refuse the very next call, with those statements prepared and planned once per connection); concurrent
// calls share the audit INSERT and every call keeps its row.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { accessContextFor, type AccessContext } from "@/lib/access/context";
import { agentPrincipal } from "@/lib/agents/principal";
import { createAgent, issueToken, revokeToken } from "@/lib/agents/service";
import { auditRow } from "@/lib/audit";
import { generateMasterKey, ringFrom } from "@/lib/crypto/keys";
import type { Db } from "@/lib/db/client";
import type { QueryOptions, SqlRunner } from "@/lib/db/sql-runner";
import { writeKesAudit } from "@/lib/kes/audit-writer";
import { KesClient, inProcessTransport } from "@/lib/kes/client";
import { serviceTable, type KesInstance } from "@/lib/kes/protocol";
import { accessOf, makeUser } from "@/tests/helpers/auth";
import { createTestDb, type TestDb } from "@/tests/helpers/db";

let db: TestDb;
let adminCtx: AccessContext;
const SERVICE = "service-token-hot-path-0123456789abcdef";
const creds: Record<string, string> = {};

/** The database with every statement KES sends through it counted. */
function counted(base: Db): { db: Db; statements: string[] } {
  const statements: string[] = [];
  const note = (text: string) => statements.push(text.replace(/\s+/g, " ").trim().slice(0, 60));
  const sql = Object.assign(
    <T>(strings: TemplateStringsArray, ...values: unknown[]) => {
      note(strings.join("$"));
      return base.sql<T>(strings, ...values);
    },
    {
      // Options pass through: KES's hot statements are prepared, as in production.
      query: <T>(text: string, params?: unknown[], opts?: QueryOptions) => {
        note(text);
        return base.sql.query<T>(text, params, opts);
      },
      exec: (text: string) => {
        note(text);
        return base.sql.exec(text);
      },
      transaction: <T>(fn: (tx: SqlRunner) => Promise<T>) => {
        note("BEGIN");
        return base.sql.transaction(fn);
      },
    },
  ) as SqlRunner;
  return { db: { ...base, sql } as Db, statements };
}

async function tokenOf(agent: string): Promise<{ token: string; id: string }> {
  const p = await agentPrincipal(db, creds[agent]!);
  const t = await issueToken(await accessContextFor(db, p!), { ttlSeconds: 600 });
  return { token: t.token, id: t.view.id };
}

const refusal = (p: Promise<unknown>) =>
  p.then(
    () => {
      throw new Error("expected a refusal");
    },
    (e: { status: number; code: string }) => e,
  );

beforeAll(async () => {
  db = await createTestDb();
  adminCtx = await accessOf(db, await makeUser(db, "admin"));
  for (const name of ["hot-a", "hot-b"]) creds[name] = (await createAgent(adminCtx, { name })).credential;
}, 120_000);
afterAll(async () => {
  await db?.drop();
});

describe("an agent's data-key call at KES", () => {
  it("reads token, chain, key and grants in one statement and audits in one more; revocations hold for the next call", async () => {
    const c = counted(db);
    const inst: KesInstance = { db: c.db, ring: ringFrom([generateMasterKey()], { kind: "env" }), services: serviceTable(`sot-web:${SERVICE}`) };
    const service = new KesClient(inProcessTransport(inst, SERVICE));
    await service.createKey("cubby.hot");
    await service.grant("cubby.hot", "agent:hot-a", { operations: ["generate", "decrypt"] });
    const a = await tokenOf("hot-a");
    const asA = service.asAgent(a.token);
    const dk = await service.generateDataKey("cubby.hot", { row: "1" });

    c.statements.length = 0;
    expect(await asA.decryptDataKey(dk.wrapped, { row: "1" })).toEqual(dk.plaintext);
    expect(c.statements).toHaveLength(2);
    expect(c.statements[0]).toMatch(/^WITH RECURSIVE/);
    expect(c.statements[1]).toMatch(/^INSERT INTO audit_log/);

    c.statements.length = 0;
    const mine = await asA.generateDataKey("cubby.hot", { row: "2" });
    expect(c.statements).toHaveLength(2);
    expect(await service.decryptDataKey(mine.wrapped, { row: "2" })).toEqual(mine.plaintext);

    // every check still holds on the very next call
    expect(await refusal(asA.decryptDataKey(dk.wrapped, { row: "other" }))).toMatchObject({ status: 422 });
    await service.revoke("cubby.hot", "agent:hot-a");
    expect(await refusal(asA.decryptDataKey(dk.wrapped, { row: "1" }))).toMatchObject({ status: 403 });
    await service.grant("cubby.hot", "agent:hot-a", { operations: ["decrypt"] });
    expect(await asA.decryptDataKey(dk.wrapped, { row: "1" })).toEqual(dk.plaintext);
    expect(await refusal(asA.generateDataKey("cubby.hot", {}))).toMatchObject({ status: 403 });
    await revokeToken(adminCtx, a.id);
    expect(await refusal(asA.decryptDataKey(dk.wrapped, { row: "1" }))).toMatchObject({ status: 401 });
    // the unwrapped version KES keeps in memory opens nothing once the key is shredded
    const b = service.asAgent((await tokenOf("hot-b")).token);
    await service.grant("cubby.hot", "agent:hot-b", { operations: ["decrypt"] });
    expect(await b.decryptDataKey(dk.wrapped, { row: "1" })).toEqual(dk.plaintext);
    await service.shred("cubby.hot");
    expect(await refusal(b.decryptDataKey(dk.wrapped, { row: "1" }))).toMatchObject({ status: 410 });
    expect(await refusal(service.decryptDataKey(dk.wrapped, { row: "1" }))).toMatchObject({ status: 410 });

    // each call, allowed or refused, left its row
    const rows = await db.prisma.auditLog.findMany({ where: { target: "kes-key:cubby.hot", action: "kes.decrypt" } });
    expect(rows.filter((r) => (r.details as { allowed?: boolean }).allowed === true)).toHaveLength(4);
    expect(rows.filter((r) => (r.details as { allowed?: boolean }).allowed === false).length).toBeGreaterThanOrEqual(3);
  });
});

describe("KES's audit writer", () => {
  it("commits concurrent rows together, keeps every row, and fails exactly the calls whose write failed", async () => {
    const c = counted(db);
    const row = (i: number) => auditRow(null, "kes.test-batch", `kes-key:batch-${i}`, { allowed: true, i });
    c.statements.length = 0;
    await Promise.all(Array.from({ length: 50 }, (_, i) => writeKesAudit(c.db, row(i))));
    // the first goes out alone at once; the 49 that came while it was in flight share the next INSERT
    expect(c.statements).toHaveLength(2);
    expect(await db.prisma.auditLog.count({ where: { action: "kes.test-batch" } })).toBe(50);

    // a batch that cannot be written fails its calls (no answer for an unrecorded call) ...
    const bad = { ...row(99), actorUserId: "not-a-uuid" };
    const first = writeKesAudit(c.db, row(50));
    const failing = [writeKesAudit(c.db, bad), writeKesAudit(c.db, row(51))];
    await first;
    for (const f of failing) await expect(f).rejects.toThrow();
    // ... and the writer goes on with the next ones
    await writeKesAudit(c.db, row(52));
    const written = await db.prisma.auditLog.findMany({ where: { action: "kes.test-batch" }, select: { target: true } });
    expect(written.map((w) => w.target)).toEqual(expect.arrayContaining(["kes-key:batch-50", "kes-key:batch-52"]));
    expect(written.map((w) => w.target)).not.toContain("kes-key:batch-51");
    expect(written).toHaveLength(52);
  });
});
