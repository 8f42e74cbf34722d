// Notion sync that never loses a page (issue 19), through @notionhq/client against the project's Notion
// fake: partial imports never remove, a whole walk removes only what Notion confirms is gone, one
// unreadable block never costs a page, a failing markdown endpoint falls back to the blocks,
// breadcrumbs follow block parents, row properties are searchable, and nothing is fetched twice.
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseConfig, resetConfig } from "@/lib/config";
import { runImportJob, startNotionImport, type ImportJobView } from "@/lib/ingest/import-jobs";
import { createNotionSource } from "@/lib/ingest/notion";
import { Llm } from "@/lib/llm";
import { nid, rich, startFakeNotion, type FakeNotion, type FakePage } from "@/tests/fakes/notion";
import { startFakeOllama, type FakeOllama } from "@/tests/fakes/ollama";
import { createTestDb, type TestDb } from "@/tests/helpers/db";
import { installQueue } from "@/tests/helpers/queue";
import { makeCollection } from "@/tests/helpers/factories";
import type { JobQueue } from "@/lib/jobs/queue";

let db: TestDb;
let queue: JobQueue;
let notion: FakeNotion;
let ollama: FakeOllama;
let llm: Llm;
let collectionId: string;

const HOME = nid(1);
const TEAMS = nid(2);
const OPS = nid(3); // inside a toggle of TEAMS
const SEC = nid(4); // inside a column of TEAMS
const SYNCED = nid(5); // inside a synced block of HOME
const ARCHIVE = nid(50); // a second root
const TRUNCATED = nid(60);
const MD403 = nid(61);
const MD404 = nid(62);
const MD500 = nid(63);
const BROKEN = nid(64); // neither markdown nor blocks: the one page that fails
const DB = nid(10, "dbdb");
const DS = nid(11, "d5d5");
const ROWS = 12;
const row = (i: number) => nid(100 + i);
const LEAD = "1eadfeed-0000-4000-8000-000000000002"; // a person whose name comes from /v1/users
const UNSHARED_PAGE = nid(999);
const PART_OK = nid(901);
const PART_UNSHARED = nid(902);

const paragraph = (id: string, text: string) => ({ object: "block", id, type: "paragraph", paragraph: { rich_text: rich(text) } });

function workspace(): FakePage[] {
  const rows = Array.from({ length: ROWS }, (_, i): FakePage => ({
    id: row(i),
    title: i === 0 ? "Billing API" : i === 1 ? "Ledger service" : `Service ${i}`,
    parent: { type: "data_source_id", data_source_id: DS, database_id: DB },
    markdown: `Service ${i} runbook.`,
    properties: {
      Owner: { id: "o", type: "people", people: [{ object: "user", id: `0000${i}000-0000-4000-8000-00000000000a`, name: i === 0 ? "Ana Lopez" : `Owner ${i}` }] },
      Lead: { id: "l", type: "people", people: i === 0 ? [{ object: "user", id: LEAD }] : [] },
      Status: { id: "s", type: "status", status: { name: i % 2 ? "Beta" : "Live" } },
      Launch: { id: "d", type: "date", date: { start: `2026-02-${String(10 + i).padStart(2, "0")}`, end: null, time_zone: null } },
      Depends: { id: "r", type: "relation", relation: i === 0 ? [{ id: row(1) }, { id: UNSHARED_PAGE }] : [], has_more: false },
    },
  }));
  const withBlocks = (id: string, title: string, code: string, extra: Partial<FakePage>): FakePage => ({
    id,
    title,
    parent: { type: "page_id", page_id: HOME },
    markdown: "unused: the markdown endpoint fails for this page",
    blocks: [paragraph(nid(700 + Number.parseInt(id.slice(-3), 16)), `Readable through its blocks (${code}).`)],
    ...extra,
  });
  return [
    { id: HOME, title: "Company", parent: { type: "workspace" }, markdown: "# Company\n\nEverything about us." },
    { id: TEAMS, title: "Teams", parent: { type: "page_id", page_id: HOME }, markdown: "Our teams." },
    { id: OPS, title: "Ops handbook", parent: { type: "page_id", page_id: TEAMS }, nestedIn: "toggle", hiddenFromSearch: true, markdown: "Ops rotates weekly (code OPS-11)." },
    { id: SEC, title: "Security", parent: { type: "page_id", page_id: TEAMS }, nestedIn: "column", hiddenFromSearch: true, markdown: "Security reviews every launch." },
    { id: SYNCED, title: "Synced child", parent: { type: "page_id", page_id: HOME }, nestedIn: "synced_block", hiddenFromSearch: true, markdown: "Shared in two places." },
    { id: ARCHIVE, title: "Archive", parent: { type: "workspace" }, markdown: "Old things." },
    { id: nid(51), title: "Old plan", parent: { type: "page_id", page_id: ARCHIVE }, markdown: "The 2024 plan." },
    { id: nid(52), title: "Old budget", parent: { type: "page_id", page_id: ARCHIVE }, markdown: "The 2024 budget." },
    {
      id: TRUNCATED,
      title: "Incident guide",
      parent: { type: "page_id", page_id: HOME },
      markdown: "# Incident guide\n\nDeclare the incident first.",
      unknownBlocks: { [PART_OK]: "## Timeline\n\nPost the timeline within 15 minutes (code TQ-3390).", [PART_UNSHARED]: { error: 404 } },
    },
    withBlocks(MD403, "Key rotation", "KR-403", { markdownError: 403 }),
    withBlocks(MD404, "Vendor list", "VL-404", { markdownError: 404 }),
    withBlocks(MD500, "Pager setup", "PG-500", { markdownError: 500 }),
    withBlocks(BROKEN, "Broken page", "none", { markdownError: 500, childrenError: 500 }),
    ...rows,
  ];
}

beforeAll(async () => {
  notion = await startFakeNotion({
    pages: workspace(),
    databases: [{ id: DB, title: "Services", parentPageId: HOME, dataSources: [{ id: DS, name: "Services" }] }],
    users: [{ id: LEAD, name: "Chris Diaz" }],
    maxPageSize: 5,
  });
  ollama = await startFakeOllama();
  process.env.NOTION_API_URL = notion.url;
  process.env.NOTION_REQUESTS_PER_SECOND = "100";
  process.env.MASTER_KEYS = `sync:${randomBytes(32).toString("base64")}`;
  resetConfig();
  llm = new Llm(parseConfig({ OLLAMA_HOST: ollama.url }));
  db = await createTestDb();
  // Imports are queued for real (no worker runs here: each test runs its job itself).
  queue = await installQueue(db);
  collectionId = (await makeCollection(db, { slug: "company", name: "Company" })).id;
});
afterAll(async () => {
  await queue?.stop();
  await notion?.close();
  await ollama?.close();
  await db?.drop();
});

async function newSource(roots: { rootPageIds?: string[]; dataSourceIds?: string[] } = {}) {
  return (await createNotionSource(db, { collectionId, name: `Notion ${Math.random()}`, token: notion.token, ...roots })).id;
}
async function run(sourceId: string, input: { pageIds?: string[]; dataSourceIds?: string[] } = {}): Promise<ImportJobView> {
  return runImportJob(db, (await startNotionImport(db, { sourceId, ...input })).id, { llm });
}
const live = async (sourceId: string) =>
  (await db.prisma.document.findMany({ where: { sourceId, deletedAt: null }, select: { externalId: true } })).map((d) => d.externalId).sort();
const doc = (sourceId: string, externalId: string) => db.prisma.document.findFirstOrThrow({ where: { sourceId, externalId } });
async function text(sourceId: string, externalId: string): Promise<string> {
  const chunks = await db.prisma.chunk.findMany({ where: { document: { sourceId, externalId } }, orderBy: { position: "asc" } });
  return chunks.map((c) => c.text).join("\n\n");
}

describe("a whole-source import of a workspace with nested pages, a database and unreadable parts", () => {
  let sourceId: string;
  let job: ImportJobView;
  let requestsBefore: number;
  beforeAll(async () => {
    sourceId = await newSource();
    requestsBefore = notion.requests.length;
    job = await run(sourceId);
  });

  it("is a full sync that finds every page, and fails only the page that cannot be read at all", () => {
    expect(job.kind).toBe("full");
    expect(job.status).toBe("succeeded");
    // 13 pages + 12 rows; BROKEN fails (its markdown and its blocks both answer 500).
    expect(job.found).toBe(13 + ROWS);
    expect(job.failed).toBe(1);
    expect(job.failures.find((f) => f.externalId === BROKEN)?.error).toMatch(/markdown endpoint answered internal_server_error, its blocks internal_server_error/);
  });

  it("imports a truncated page with everything readable: the unreadable part is a linked placeholder and a warning", async () => {
    const t = await text(sourceId, TRUNCATED);
    expect(t).toContain("Declare the incident first.");
    expect(t).toContain("TQ-3390"); // the part that could be fetched, in place
    expect(t).toMatch(/\[Part of this page could not be read: open it in Notion\]\(https:\/\/www\.notion\.so\/Incident-guide-[0-9a-f]{32}#[0-9a-f]{32}\)/);
    expect(t).not.toContain("<unknown");
    expect(job.warnings).toBeGreaterThanOrEqual(1);
    expect(job.warningItems).toContainEqual(
      expect.objectContaining({ externalId: TRUNCATED, warning: expect.stringContaining(`part ${PART_UNSHARED} could not be read (object_not_found)`) }),
    );
  });

  it("renders a readable page from its blocks when the markdown endpoint answers 403, 404 or 500 (after retries)", async () => {
    expect(await text(sourceId, MD403)).toContain("Readable through its blocks (KR-403).");
    expect(await text(sourceId, MD404)).toContain("Readable through its blocks (VL-404).");
    expect(await text(sourceId, MD500)).toContain("Readable through its blocks (PG-500).");
    // The 500 was retried by the client before falling back.
    const md500 = notion.requests.slice(requestsBefore).filter((r) => r.path === `/v1/pages/${MD500}/markdown`);
    expect(md500.length).toBeGreaterThan(1);
    expect(md500.every((r) => r.status === 500)).toBe(true);
  });

  it("follows block parents (toggle, column, synced block) up to the page for breadcrumbs", async () => {
    expect((await doc(sourceId, OPS)).breadcrumb).toEqual(["Company", "Teams"]);
    expect((await doc(sourceId, SEC)).breadcrumb).toEqual(["Company", "Teams"]);
    expect((await doc(sourceId, SYNCED)).breadcrumb).toEqual(["Company"]);
    expect((await doc(sourceId, row(3))).breadcrumb).toEqual(["Company", "Services"]);
  });

  it("puts row properties into the indexed text as `Name: value` lines and keeps them as properties", async () => {
    const t = await text(sourceId, row(0));
    expect(t).toContain("Owner: Ana Lopez");
    expect(t).toContain("Lead: Chris Diaz"); // a person given by id only: named through /v1/users
    expect(t).toContain("Status: Live");
    expect(t).toContain("Launch: 2026-02-10");
    expect(t).toContain("Depends: Ledger service"); // the unshared related page is left out
    expect((await doc(sourceId, row(0))).properties).toMatchObject({
      Owner: ["Ana Lopez"],
      Lead: ["Chris Diaz"],
      Status: "Live",
      Launch: "2026-02-10",
      Depends: ["Ledger service"],
      notionDataSourceId: DS,
    });
    // Searchable: "who owns the billing API?"
    const hits = await db.prisma.$queryRaw<Array<{ title: string }>>`
      SELECT d.title FROM chunks c JOIN documents d ON d.id = c.document_id
      WHERE d.source_id = ${sourceId}::uuid AND c.tsv @@ plainto_tsquery('english', 'Ana Lopez owner')`;
    expect(hits.map((h) => h.title)).toEqual(["Billing API"]);
  });

  it("fetches each database, data source and page once in the import", () => {
    const mine = notion.requests.slice(requestsBefore).filter((r) => r.status === 200);
    const count = (path: string) => mine.filter((r) => r.path === path).length;
    expect(count(`/v1/databases/${DB}`)).toBe(1);
    const twice = (paths: string[]) => [...new Set(paths.filter((p, i) => paths.indexOf(p) !== i))];
    expect(twice(mine.filter((r) => /^\/v1\/pages\/[^/]+$/.test(r.path)).map((r) => r.path))).toEqual([]);
    expect(twice(mine.filter((r) => r.path.endsWith("/markdown")).map((r) => r.path))).toEqual([]);
    expect(twice(mine.filter((r) => r.method === "GET" && /^\/v1\/blocks\/[^/]+$/.test(r.path)).map((r) => r.path))).toEqual([]);
    // Rows come with the data source query: none of them is retrieved on its own.
    expect(mine.filter((r) => Array.from({ length: ROWS }, (_, i) => `/v1/pages/${row(i)}`).includes(r.path))).toEqual([]);
  });
});

describe("partial imports add and update, and never remove", () => {
  it("an import of one page, or one data source, leaves the rest of the source in place", async () => {
    const sourceId = await newSource();
    await run(sourceId);
    const before = await live(sourceId);
    expect(before.length).toBeGreaterThan(20);
    notion.updatePage(OPS, { markdown: "Ops rotates every two weeks (code OPS-22)." });
    const pages = await run(sourceId, { pageIds: [TEAMS] });
    expect(pages).toMatchObject({ kind: "partial", status: "succeeded", removed: 0, failed: 0 });
    expect(pages.found).toBe(3); // Teams and the two pages nested in it
    expect(await text(sourceId, OPS)).toContain("OPS-22");
    const rows = await run(sourceId, { dataSourceIds: [DS] });
    expect(rows).toMatchObject({ kind: "partial", status: "succeeded", removed: 0, found: ROWS });
    expect(await live(sourceId)).toEqual(before);
  });

  it("a page a partial import finds in the trash stays, with a warning, until a full sync confirms it", async () => {
    const sourceId = await newSource();
    await run(sourceId);
    notion.updatePage(nid(52), { inTrash: true });
    try {
      const job = await run(sourceId, { pageIds: [nid(52)] });
      expect(job).toMatchObject({ kind: "partial", removed: 0 });
      expect(job.warningItems).toEqual([expect.objectContaining({ externalId: nid(52), warning: expect.stringMatching(/a full sync removes it/) })]);
      expect(await live(sourceId)).toContain(nid(52));
      expect(await run(sourceId)).toMatchObject({ kind: "full", removed: 1 });
      expect(await live(sourceId)).not.toContain(nid(52));
    } finally {
      notion.updatePage(nid(52), { inTrash: false });
    }
  });

  it("a partial import stays inside the source's roots", async () => {
    const sourceId = await newSource({ rootPageIds: [ARCHIVE] });
    const job = await run(sourceId, { pageIds: [TEAMS, nid(51)] });
    expect(await live(sourceId)).toEqual([nid(51)]);
    expect(job.warningItems).toEqual([expect.objectContaining({ externalId: TEAMS, warning: expect.stringMatching(/outside the source's root/) })]);
  });
});

describe("a whole-source walk removes only what Notion confirms is gone", () => {
  it("a root that fails to load removes nothing beneath it; trashed, deleted and moved-out pages go", async () => {
    const sourceId = await newSource({ rootPageIds: [HOME, ARCHIVE] });
    await run(sourceId);
    expect(await live(sourceId)).toEqual(expect.arrayContaining([nid(51), nid(52), SYNCED, TEAMS, MD404]));
    notion.updatePage(ARCHIVE, { childrenError: 500 }); // the Archive root cannot be listed
    notion.updatePage(SYNCED, { inTrash: true });
    const vendor = notion.pages.get(MD404)!;
    notion.removePage(MD404); // gone for good (or no longer shared): 404
    notion.updatePage(TEAMS, { parent: { type: "workspace" } }); // moved out of both roots (with OPS and SEC)
    try {
      const job = await run(sourceId);
      expect(job.kind).toBe("full");
      const after = await live(sourceId);
      expect(after).toEqual(expect.arrayContaining([nid(51), nid(52), ARCHIVE])); // beneath the failed root: kept
      for (const gone of [SYNCED, MD404, TEAMS, OPS, SEC]) expect(after).not.toContain(gone);
      expect(job.removed).toBe(5);
    } finally {
      notion.updatePage(ARCHIVE, { childrenError: undefined });
      notion.updatePage(SYNCED, { inTrash: false });
      notion.upsertPage(vendor);
      notion.updatePage(TEAMS, { parent: { type: "page_id", page_id: HOME } });
    }
  });

  it("a page the walk did not reach but Notion still serves is kept", async () => {
    const sourceId = await newSource();
    const lonely = nid(70);
    notion.upsertPage({ id: lonely, title: "Lonely page", parent: { type: "workspace" }, hiddenFromSearch: true, markdown: "Only reachable by its id." });
    notion.updatePage(BROKEN, { childrenError: undefined }); // every container of the walk loads
    try {
      await run(sourceId, { pageIds: [lonely] });
      const job = await run(sourceId); // search does not return it, no page links to it
      expect(job.removed).toBe(0);
      expect(await live(sourceId)).toContain(lonely);
    } finally {
      notion.removePage(lonely);
      notion.updatePage(BROKEN, { childrenError: 500 });
    }
  });
});

describe("a busy Notion", () => {
  it("imports everything while every seventh request answers 429 with Retry-After", async () => {
    const busy = await startFakeNotion({
      pages: workspace().filter((p) => p.id !== BROKEN),
      databases: [{ id: DB, title: "Services", parentPageId: HOME, dataSources: [{ id: DS, name: "Services" }] }],
      users: [{ id: LEAD, name: "Chris Diaz" }],
      rateLimitEvery: 7,
      retryAfterSeconds: 0,
    });
    process.env.NOTION_API_URL = busy.url;
    resetConfig();
    try {
      const sourceId = (await createNotionSource(db, { collectionId, name: "Busy Notion", token: busy.token })).id;
      const job = await run(sourceId);
      expect(job).toMatchObject({ status: "succeeded", failed: 0, found: 12 + ROWS });
      expect(busy.requests.filter((r) => r.status === 429).length).toBeGreaterThan(5);
    } finally {
      process.env.NOTION_API_URL = notion.url;
      resetConfig();
      await busy.close();
    }
  });
});
