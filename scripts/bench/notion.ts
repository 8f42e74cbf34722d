// npm run bench:notion — Notion requests per imported page. A workspace of a few pages and a database of
// 200 rows (people, status, date and relation properties; rows returned by search too, as Notion does),
// imported through the real import job, @notionhq/client and the project's Notion fake, on PostgreSQL
// with the fake Ollama. Prints the requests by endpoint and per imported page for a first full import
// and for an unchanged re-sync (target: at most 1.2 per page), and the machine. Asserts nothing.
//   BENCH_ROWS=…  (default 200)   BENCH_PAGES=…  (plain pages beside the database, default 5)
import { randomBytes } from "node:crypto";
import { resetConfig } from "@/lib/config";
import { Llm } from "@/lib/llm";
import { createImportJob, runImportJob } from "@/lib/ingest/import-jobs";
import { createNotionSource } from "@/lib/ingest/notion";
import { nid, rich, startFakeNotion, type FakePage, type FakeRequest } from "../../tests/fakes/notion";
import { startFakeOllama } from "../../tests/fakes/ollama";
import { loadAverage, machine, scratchDb } from "./lib";

const ROWS = Number(process.env.BENCH_ROWS ?? 200);
const PAGES = Number(process.env.BENCH_PAGES ?? 5);
const TARGET = 1.2;

const HOME = nid(1);
const DB = nid(2, "dbdb");
const DS = nid(3, "d5d5");

function workspace(): FakePage[] {
  const pages: FakePage[] = [
    { id: HOME, title: "Handbook", parent: { type: "workspace" }, markdown: "# Handbook\n\nHow we work." },
    ...Array.from({ length: PAGES }, (_, i): FakePage => ({
      id: nid(10 + i),
      title: `Chapter ${i + 1}`,
      parent: { type: "page_id", page_id: HOME },
      markdown: `# Chapter ${i + 1}\n\nThe procedure for area ${i + 1}.`,
    })),
  ];
  for (let i = 0; i < ROWS; i++) {
    pages.push({
      id: nid(1000 + i),
      title: `Service ${i}`,
      parent: { type: "data_source_id", data_source_id: DS, database_id: DB },
      markdown: `Runbook of service ${i}: restart it with \`svc restart ${i}\`.`,
      properties: {
        Owner: { id: "o", type: "people", people: [{ object: "user", id: nid(50_000 + (i % 17)), name: `Owner ${i % 17}` }] },
        Status: { id: "s", type: "status", status: { name: ["Live", "Beta", "Retired"][i % 3] } },
        Launched: { id: "d", type: "date", date: { start: `2025-${String((i % 12) + 1).padStart(2, "0")}-15`, end: null, time_zone: null } },
        Tier: { id: "t", type: "select", select: { name: `Tier ${i % 3}` } },
        "Depends on": { id: "r", type: "relation", relation: i > 0 ? [{ id: nid(1000 + i - 1) }] : [], has_more: false },
        Summary: { id: "m", type: "rich_text", rich_text: rich(`Service ${i} does part ${i} of the work.`) },
      },
    });
  }
  return pages;
}

function byEndpoint(requests: FakeRequest[]): string {
  const groups = new Map<string, number>();
  for (const r of requests) {
    const shape = `${r.method} ${r.path.replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, ":id")}${r.status === 200 ? "" : ` (${r.status})`}`;
    groups.set(shape, (groups.get(shape) ?? 0) + 1);
  }
  return [...groups.entries()].sort((a, b) => b[1] - a[1]).map(([k, n]) => `    ${String(n).padStart(5)}  ${k}`).join("\n");
}

async function main() {
  process.env.NOTION_REQUESTS_PER_SECOND ??= "100";
  process.env.MASTER_KEYS ??= `bench:${randomBytes(32).toString("base64")}`;
  process.env.LOG_LEVEL ??= "warn";
  const notion = await startFakeNotion({
    pages: workspace(),
    databases: [{ id: DB, title: "Services", parentPageId: HOME, dataSources: [{ id: DS, name: "Services" }] }],
  });
  const ollama = await startFakeOllama();
  process.env.NOTION_API_URL = notion.url;
  process.env.OLLAMA_HOST = ollama.url;
  resetConfig();
  const llm = new Llm((await import("@/lib/config")).getConfig());
  const scratch = await scratchDb("notion");
  const { db } = scratch;
  console.log(machine());
  console.log(`load average at start (1/5/15 min): ${loadAverage()}`);
  console.log(`workspace: 1 root page, ${PAGES} pages beneath it, a database of ${ROWS} rows (6 properties each); rows also returned by search`);
  try {
    const collection = await db.prisma.collection.create({ data: { slug: "notion-bench", name: "Notion bench" } });
    const { id: sourceId } = await createNotionSource(db, { collectionId: collection.id, name: "Bench", token: notion.token });

    const measure = async (label: string, jobId: string) => {
      const from = notion.requests.length;
      const started = performance.now();
      const job = await runImportJob(db, jobId, { llm });
      const seconds = (performance.now() - started) / 1000;
      const requests = notion.requests.slice(from);
      const imported = job.done; // pages fetched and stored (created, updated or unchanged)
      const perPage = requests.length / Math.max(1, imported);
      console.log(
        `\n${label} (${job.kind}): ${imported} pages imported of ${job.found} found, ${job.failed} failed, ${job.unchanged} unchanged, ` +
          `${job.removed} removed, in ${seconds.toFixed(1)} s`,
      );
      console.log(`  Notion requests: ${requests.length} → ${perPage.toFixed(3)} per imported page (target ≤ ${TARGET}: ${perPage <= TARGET ? "met" : "NOT met"})`);
      console.log(byEndpoint(requests));
    };

    await measure("first import", (await createImportJob(db, { sourceId, kind: "full", trigger: "manual" })).id);
    await measure("unchanged re-sync", (await createImportJob(db, { sourceId, kind: "reconcile", trigger: "bench" })).id);
  } finally {
    await scratch.drop();
    await notion.close();
    await ollama.close();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
