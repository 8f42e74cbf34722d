import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseConfig, resetConfig } from "@/lib/config";
import { createImportJob, importJobView, runImportJob, startNotionImport } from "@/lib/ingest/import-jobs";
import { createNotionSource } from "@/lib/ingest/notion";
import { Llm } from "@/lib/llm";
import { startFakeNotion, nid, rich, type FakeNotion, type FakePage } from "@/tests/fakes/notion";
import { startFakeOllama, type FakeOllama } from "@/tests/fakes/ollama";
import { createTestDb, type TestDb } from "@/tests/helpers/db";
import { installQueue, queuedJobs } from "@/tests/helpers/queue";
import { makeCollection } from "@/tests/helpers/factories";
import type { JobQueue } from "@/lib/jobs/queue";

let db: TestDb;
let queue: JobQueue;
let notion: FakeNotion;
let ollama: FakeOllama;
let llm: Llm;
let collectionId: string;

const ROOT = nid(1);
const CHILD = nid(2);
const HIDDEN = nid(3); // only reachable through a toggle block, never returned by search
const DB = nid(10, "dbdb");
const DS = nid(11, "dsds");

function workspace(): FakePage[] {
  const kids = Array.from({ length: 5 }, (_, i): FakePage => ({
    id: nid(100 + i),
    title: `Team page ${i}`,
    parent: { type: "page_id", page_id: ROOT },
    markdown: `# Team page ${i}\n\nTeam ${i} handles queue number ${i}.`,
  }));
  return [
    { id: ROOT, title: "Engineering", parent: { type: "workspace" }, markdown: "# Engineering\n\nHome of the engineering wiki." },
    {
      id: CHILD,
      title: "On-call",
      parent: { type: "page_id", page_id: ROOT },
      markdown: "# On-call\n\nPage the primary within 5 minutes.",
      unknownBlocks: { [nid(900)]: "## Escalation\n\nAfter 10 minutes the secondary is paged (code ZQ-7781)." },
    },
    { id: HIDDEN, title: "Hidden runbook", parent: { type: "page_id", page_id: CHILD }, nestedIn: "toggle", hiddenFromSearch: true, markdown: "The vault is at ring 4." },
    ...kids,
    { id: nid(200), title: "Deploy row", parent: { type: "data_source_id", data_source_id: DS, database_id: DB }, hiddenFromSearch: true, markdown: "Deploy on Tuesdays.", properties: { Status: { type: "select", select: { name: "Live" } } } },
  ];
}

beforeAll(async () => {
  notion = await startFakeNotion({ pages: workspace(), databases: [{ id: DB, title: "Releases", parentPageId: ROOT, dataSources: [{ id: DS, name: "Releases" }] }], maxPageSize: 2 });
  ollama = await startFakeOllama();
  process.env.NOTION_API_URL = notion.url;
  process.env.NOTION_REQUESTS_PER_SECOND = "40";
  process.env.MASTER_KEYS = `test1:${randomBytes(32).toString("base64")}`;
  resetConfig();
  llm = new Llm(parseConfig({ OLLAMA_HOST: ollama.url }));
  db = await createTestDb();
  // Imports are queued for real (no worker runs here: each test runs its job itself).
  queue = await installQueue(db);
  collectionId = (await makeCollection(db, { slug: "eng", name: "Engineering" })).id;
});
afterAll(async () => {
  await queue?.stop();
  await notion?.close();
  await ollama?.close();
  await db?.drop();
});

async function newSource() {
  return createNotionSource(db, { collectionId, name: "Notion", token: notion.token });
}

describe("Notion bulk import through @notionhq/client", () => {
  it("stores the token encrypted, never in clear", async () => {
    const s = await newSource();
    const row = await db.prisma.source.findUniqueOrThrow({ where: { id: s.id } });
    expect(row.secretCiphertext).toMatch(/^sot:v2:kes:v1:secrets:1:/);
    expect(row.secretCiphertext).not.toContain(notion.token);
    expect(JSON.stringify(row.config)).not.toContain(notion.token);
  });

  it("finds pages by search AND by walking blocks and data sources, with breadcrumb, url, properties and refetched parts", async () => {
    const s = await newSource();
    const { id } = await startNotionImport(db, { sourceId: s.id });
    // Started = recorded and queued for a worker (this test runs it itself).
    expect((await queuedJobs(db, "ingest.import")).map((j) => j.data.jobId)).toContain(id);
    const job = await runImportJob(db, id, { llm });
    expect(job.status).toBe("succeeded");
    expect(job.failed).toBe(0);
    expect(job.found).toBe(9); // root, on-call, hidden, 5 team pages, the data source row, no duplicates
    const docs = await db.prisma.document.findMany({ where: { sourceId: s.id } });
    const hidden = docs.find((d) => d.externalId === HIDDEN)!;
    expect(hidden.breadcrumb).toEqual(["Engineering", "On-call"]);
    expect(hidden.url).toMatch(/^https:\/\/www\.notion\.so\/Hidden-runbook-/);
    const row = docs.find((d) => d.externalId === nid(200))!;
    expect(row.properties).toMatchObject({ Status: "Live", notionDataSourceId: DS });
    expect(row.breadcrumb).toEqual(["Engineering", "Releases"]);
    // The truncated page's missing part was fetched and is searchable by its exact code.
    const hits = await db.prisma.$queryRaw<Array<{ title: string }>>`
      SELECT d.title FROM chunks c JOIN documents d ON d.id = c.document_id WHERE c.text ILIKE '%ZQ-7781%'`;
    expect(hits).toEqual([{ title: "On-call" }]);
    // Child page mentions became links, not raw tags.
    const root = await db.prisma.chunk.findFirstOrThrow({ where: { document: { externalId: ROOT, sourceId: s.id } } });
    expect(root.text).toContain("[On-call](https://www.notion.so/On-call-");
    expect(root.text).not.toContain("<page");
    // Pagination was exercised (page size 2) and every request named API version 2025-09-03.
    expect(notion.requests.filter((r) => r.path.endsWith("/children")).length).toBeGreaterThan(3);
    expect(new Set(notion.requests.map((r) => r.version))).toEqual(new Set(["2025-09-03"]));
  });

  it("honours 429 and 529 with Retry-After, records one failing page, and does not stop", async () => {
    const s = await newSource();
    notion.updatePage(nid(101), { failRetrieve: true });
    notion.throttle(2, 429);
    const { id } = await startNotionImport(db, { sourceId: s.id, pageIds: [ROOT] });
    const job = await runImportJob(db, id, { llm });
    notion.updatePage(nid(101), { failRetrieve: false });
    expect(job.status).toBe("succeeded");
    expect(job.failed).toBe(1);
    expect(job.failures).toEqual([expect.objectContaining({ externalId: nid(101), error: expect.stringMatching(/This page cannot be read/) })]);
    expect(job.done).toBe(job.found - 1);
    const throttled = notion.requests.filter((r) => r.status === 429);
    expect(throttled).toHaveLength(2);
    // The client waited for Retry-After (1 s) before asking again.
    const retried = notion.requests[notion.requests.indexOf(throttled[1]) + 1];
    expect(retried.at - throttled[1].at).toBeGreaterThanOrEqual(950);
    notion.throttle(1, 529);
    const again = await runImportJob(db, (await createImportJob(db, { sourceId: s.id, kind: "pages", options: { pageIds: [nid(101)] } })).id, { llm });
    expect(again).toMatchObject({ status: "succeeded", failed: 0, done: 1 });
  });

  it("resumes after a crash without refetching finished pages", async () => {
    const s = await newSource();
    const { id } = await startNotionImport(db, { sourceId: s.id });
    await expect(
      runImportJob(db, id, {
        llm,
        groupSize: 3,
        onProgress: () => {
          throw new Error("worker killed");
        },
      }),
    ).rejects.toThrow("worker killed");
    const mid = await importJobView(db, id);
    expect(mid.status).toBe("running");
    expect(mid.done).toBe(3);
    const markdownCallsBefore = notion.requests.filter((r) => r.path.endsWith("/markdown")).length;
    const job = await runImportJob(db, id, { llm, groupSize: 3 });
    expect(job).toMatchObject({ status: "succeeded", found: 9, done: 9, failed: 0 });
    const fetched = notion.requests.filter((r) => r.path.endsWith("/markdown")).length - markdownCallsBefore;
    expect(fetched).toBe(6); // only the 6 pages left (On-call, with its refetched part, was in the first group)
  });

  it("a full re-sync removes pages that no longer exist and re-embeds only what changed", async () => {
    const s = await newSource();
    await runImportJob(db, (await startNotionImport(db, { sourceId: s.id })).id, { llm });
    notion.updatePage(nid(104), { inTrash: true });
    const batches = ollama.embedBatches.length;
    const job = await runImportJob(db, (await createImportJob(db, { sourceId: s.id, kind: "reconcile" })).id, { llm });
    // The parent's page lost a child link, so it changed too; the other 7 cost nothing.
    expect(job).toMatchObject({ status: "succeeded", removed: 1, unchanged: 7, done: 8 });
    expect(ollama.embedBatches.slice(batches)).toEqual([1]);
    const gone = await db.prisma.document.findFirstOrThrow({ where: { sourceId: s.id, externalId: nid(104) } });
    expect(gone.deletedAt).not.toBeNull();
    expect(await db.prisma.chunk.count({ where: { documentId: gone.id } })).toBe(0);
    notion.updatePage(nid(104), { inTrash: false });
  });

  it("renders the page from its blocks when the markdown endpoint refuses it", async () => {
    const b = (id: string, type: string, text: string, extra: Record<string, unknown> = {}) => ({
      object: "block",
      id,
      type,
      has_children: !!extra.children,
      [type]: { rich_text: rich(text), ...(extra.props as object) },
      ...(extra.children ? { children: extra.children } : {}),
    });
    notion.upsertPage({
      id: nid(300),
      title: "Legacy page",
      parent: { type: "workspace" },
      markdown: "unused",
      markdownError: 400,
      blocks: [
        b(nid(301), "heading_2", "Steps"),
        b(nid(302), "numbered_list_item", "Stop the consumer"),
        b(nid(303), "to_do", "Drain queue QX-5512", { props: { checked: true } }),
        b(nid(304), "code", "kubectl scale deploy/eta --replicas=0", { props: { language: "shell" } }),
        b(nid(305), "toggle", "Details", { children: [b(nid(306), "paragraph", "Hidden detail inside a toggle.")] }),
        {
          object: "block", id: nid(307), type: "table", has_children: true, table: { table_width: 2, has_column_header: true },
          children: [
            { object: "block", id: nid(308), type: "table_row", has_children: false, table_row: { cells: [rich("Env"), rich("Replicas")] } },
            { object: "block", id: nid(309), type: "table_row", has_children: false, table_row: { cells: [rich("prod"), rich("12")] } },
          ],
        },
      ],
    });
    const s = await newSource();
    const job = await runImportJob(db, (await startNotionImport(db, { sourceId: s.id, pageIds: [nid(300)] })).id, { llm });
    expect(job).toMatchObject({ status: "succeeded", failed: 0 });
    const chunks = await db.prisma.chunk.findMany({ where: { document: { sourceId: s.id, externalId: nid(300) } }, orderBy: { position: "asc" } });
    const text = chunks.map((c) => c.text).join("\n\n");
    expect(text).toContain("## Steps");
    expect(text).toContain("1. Stop the consumer");
    expect(text).toContain("- [x] Drain queue QX-5512");
    expect(text).toContain("```shell\nkubectl scale deploy/eta --replicas=0\n```");
    expect(text).toContain("Hidden detail inside a toggle.");
    expect(text).toContain("| Env | Replicas |\n| --- | --- |\n| prod | 12 |");
  });

  it("rejects a second concurrent full import of one source, unless the first was abandoned", async () => {
    const s = await newSource();
    const first = await startNotionImport(db, { sourceId: s.id });
    await expect(startNotionImport(db, { sourceId: s.id })).rejects.toMatchObject({ status: 409 });
    await db.prisma.$executeRaw`UPDATE import_jobs SET status = 'running', updated_at = now() - interval '31 minutes' WHERE id = ${first.id}::uuid`;
    const second = await startNotionImport(db, { sourceId: s.id });
    expect(second.id).not.toBe(first.id);
    expect(await importJobView(db, first.id)).toMatchObject({ status: "failed", error: expect.stringContaining("abandoned") });
  });
});
