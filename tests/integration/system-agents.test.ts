// SOT uses its own agents, cubbies and KES grants, with KES as its own process (the master key of the
// key service is only in ITS environment): the agents are set up once even when several processes
// start at once; the Notion sync agent keeps a source's sync state in its cubby (ciphertext only in the
// database, the source page shows it, a shredded key makes it unreadable, not fatal); the query agent
// seals evaluation passages under wiki-knowledge-key and only the evaluation agent's grant opens them,
// bound to their row. Notion is the fake, driven through @notionhq/client.
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { listAgents, setAgentDisabled } from "@/lib/agents/service";
import { EVAL_AGENT, NOTION_SYNC_AGENT, NOTION_SYNC_CUBBY, QUERY_AGENT, WIKI_KNOWLEDGE_KEY, ensureSystemAgents } from "@/lib/agents/system";
import { resetConfig } from "@/lib/config";
import { openPostgres, setDb, type Db } from "@/lib/db/client";
import { openPassages, sealPassages } from "@/lib/evaluate/sealed-passages";
import { runImportJob, startNotionImport } from "@/lib/ingest/import-jobs";
import { createNotionSource } from "@/lib/ingest/notion";
import { getSource } from "@/lib/ingest/sources";
import { getKes, resetKes } from "@/lib/kes/client";
import { Llm } from "@/lib/llm";
import { parseConfig } from "@/lib/config";
import { nid, startFakeNotion, type FakeNotion } from "@/tests/fakes/notion";
import { startFakeOllama, type FakeOllama } from "@/tests/fakes/ollama";
import { accessOf, makeUser } from "@/tests/helpers/auth";
import { createTestDb, type TestDb } from "@/tests/helpers/db";
import { makeCollection } from "@/tests/helpers/factories";
import { startKesProcess, type KesProcess } from "@/tests/helpers/kes-process";
import { installQueue } from "@/tests/helpers/queue";
import type { JobQueue } from "@/lib/jobs/queue";
import type { PipelineSource } from "@/lib/evaluate/pipeline";

let db: TestDb;
let kes: KesProcess;
let notion: FakeNotion;
let ollama: FakeOllama;
let queue: JobQueue;
const others: Db[] = [];

beforeAll(async () => {
  db = await createTestDb({ poolSize: 8 });
  kes = await startKesProcess({ databaseUrl: db.url, services: ["sot-web"] });
  notion = await startFakeNotion({
    pages: [
      { id: nid(1), title: "Handbook", parent: { type: "workspace" }, markdown: "# Handbook\n\nWelcome." },
      { id: nid(2), title: "Payroll", parent: { type: "page_id", page_id: nid(1) }, markdown: "Payroll runs monthly." },
    ],
  });
  ollama = await startFakeOllama();
  Object.assign(process.env, {
    KES_URL: kes.url,
    KES_TOKEN: kes.tokens["sot-web"],
    NOTION_API_URL: notion.url,
    NOTION_REQUESTS_PER_SECOND: "100",
    // Notion tokens are still sealed locally (lib/crypto/secrets.ts); everything of this file goes to KES.
    MASTER_KEYS: `local:${randomBytes(32).toString("base64")}`,
  });
  resetConfig();
  resetKes();
  setDb(db);
  queue = await installQueue(db);
}, 300_000);

afterAll(async () => {
  await queue?.stop();
  for (const o of others) await o.close();
  await kes?.stop();
  await notion?.close();
  await ollama?.close();
  await db?.drop();
});

describe("SOT's own agents", () => {
  it("are set up once when several processes start at once", async () => {
    for (let i = 0; i < 3; i++) others.push(await openPostgres(db.url!, { poolSize: 3 }));
    await Promise.all([db, ...others].map((d) => ensureSystemAgents(d)));
    const agents = await db.sql<{ name: string; system: boolean; owner_id: string | null }>`
      SELECT name, system, owner_id FROM agents ORDER BY name`;
    expect(agents).toEqual([
      { name: "sot-eval-agent", system: true, owner_id: null },
      { name: "sot-notion-sync", system: true, owner_id: null },
      { name: "sot-query-agent", system: true, owner_id: null },
    ]);
    const grants = await (await getKes()).listGrants(WIKI_KNOWLEDGE_KEY);
    expect(grants.map((g) => [g.grantee, [...g.operations].sort()]).sort()).toEqual([
      [`agent:${EVAL_AGENT}`, ["decrypt"]],
      [`agent:${QUERY_AGENT}`, ["decrypt", "generate"]],
    ]);
    expect(await db.sql`SELECT name FROM cubbies`).toEqual([{ name: NOTION_SYNC_CUBBY }]);
  });

  it("the Notion sync agent keeps a source's sync state in its cubby, and the source page shows it", async () => {
    const collection = await makeCollection(db, { slug: "handbook", name: "Handbook" });
    const source = await createNotionSource(db, { collectionId: collection.id, name: "Notion", token: notion.token });
    const llm = new Llm(parseConfig({ OLLAMA_HOST: ollama.url }));
    await runImportJob(db, (await startNotionImport(db, { sourceId: source.id })).id, { llm });

    const admin = await accessOf(db, await makeUser(db, "admin"));
    // Admin → Agents lists them as SOT's, owned by no person.
    expect((await listAgents(admin)).find((a) => a.name === NOTION_SYNC_AGENT)).toMatchObject({ owner: "SOT (system agent)", status: "active" });
    const view = await getSource(admin, source.id);
    expect(view.syncState?.unreadable).toBeNull();
    expect(view.syncState?.state).toMatchObject({ jobKind: "full", pageCount: 2, pagesSeen: 2, pagesRemoved: 0 });
    expect(Date.parse(view.syncState!.state!.lastSuccessfulSyncAt)).toBeGreaterThan(Date.now() - 120_000);
    expect(JSON.stringify(view)).not.toContain(notion.token);

    // The database holds the envelope only, written by the sync agent.
    const [row] = await db.sql<{ ciphertext: string; updated_by: string }>`
      SELECT i.ciphertext, i.updated_by FROM cubby_items i JOIN cubbies c ON c.id = i.cubby_id
       WHERE c.name = ${NOTION_SYNC_CUBBY} AND i.key = ${`source.${source.id}`}`;
    expect(row!.ciphertext).toMatch(/^kes:v1:cubby\.sot-notion-sync:1:/);
    expect(row!.ciphertext).not.toContain("pageCount");
    expect(row!.updated_by).toBe("agent:sot-notion-sync");

    // A second import writes over the version it read.
    await runImportJob(db, (await startNotionImport(db, { sourceId: source.id })).id, { llm });
    const [again] = await db.sql<{ version: number }>`SELECT version FROM cubby_items WHERE key = ${`source.${source.id}`}`;
    expect(again!.version).toBe(2);

    // Someone who may not read the collection does not see the source, nor its state.
    const member = await accessOf(db, await makeUser(db, "viewer"));
    const restricted = await makeCollection(db, { slug: "secret", name: "Secret", restricted: true });
    const hidden = await createNotionSource(db, { collectionId: restricted.id, name: "Hidden", token: notion.token });
    await expect(getSource(member, hidden.id)).rejects.toMatchObject({ status: 404 });

    // An admin disables the sync agent: its work is refused at once (the page says so), an import still succeeds.
    await setAgentDisabled(admin, NOTION_SYNC_AGENT, true);
    expect((await getSource(admin, source.id)).syncState).toMatchObject({ state: null, unreadable: expect.stringMatching(/disabled/) });
    const third = await runImportJob(db, (await startNotionImport(db, { sourceId: source.id })).id, { llm });
    expect(third.status).toBe("succeeded");
    await setAgentDisabled(admin, NOTION_SYNC_AGENT, false);
    expect((await getSource(admin, source.id)).syncState?.state).toMatchObject({ jobId: expect.not.stringMatching(third.id) });

    // Shredded: the state is unreadable and says why; the page still loads.
    await (await getKes()).shred(`cubby.${NOTION_SYNC_CUBBY}`);
    const after = await getSource(admin, source.id);
    expect(after.syncState?.state).toBeNull();
    expect(after.syncState?.unreadable).toMatch(/shredded/);
  });

  it("the query agent seals evaluation passages under wiki-knowledge-key; only their row and the evaluation agent open them", async () => {
    const sources: PipelineSource[] = [
      { n: 1, documentId: null, chunkId: null, externalId: null, title: "Payroll", url: null, text: "Payroll runs monthly (code PR-77)." },
      { n: 2, documentId: null, chunkId: null, externalId: null, title: "Handbook", url: null, text: "Welcome." },
    ];
    const itemId = "11111111-1111-4111-8111-111111111111";
    const kept = await sealPassages(db, itemId, sources);
    expect(kept.sources.map((s) => s.text)).toEqual(["", ""]);
    expect(kept.sealed).not.toContain("PR-77");
    expect(await openPassages(db, { id: itemId, sources: kept.sources, sealedPassages: kept.sealed })).toEqual(sources);

    // Copied onto another run item: refused, and said so instead of a text.
    const moved = await openPassages<PipelineSource>(db, { id: "22222222-2222-4222-8222-222222222222", sources: kept.sources, sealedPassages: kept.sealed });
    expect(moved[0]!.text).toMatch(/unreadable: .*another record/);

    // The evaluation agent's grant is what opens them: revoked, its next read is refused by KES.
    await (await getKes()).revoke(WIKI_KNOWLEDGE_KEY, `agent:${EVAL_AGENT}`);
    const refused = await openPassages<PipelineSource>(db, { id: itemId, sources: kept.sources, sealedPassages: kept.sealed });
    expect(refused[0]!.text).toMatch(/unreadable: .*may not decrypt/);
    const audit = await db.sql<{ n: number }>`
      SELECT count(*)::int AS n FROM audit_log WHERE action = 'kes.decrypt' AND target = ${`kes-key:${WIKI_KNOWLEDGE_KEY}`}`;
    expect(audit[0]!.n).toBeGreaterThanOrEqual(2);
  });
});
