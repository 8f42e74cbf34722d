// npm run bench:ingest — the ingest pipeline on PostgreSQL with the fake Ollama (embeddings instant):
//   1. the 5,183 SciFact abstracts as documents, first run: docs/s, chunks/s, embedding calls, batch sizes —
//      with the HNSW index in place (every chunk an index insert) and as a bulk first import (the index
//      dropped, then built once with CREATE INDEX CONCURRENTLY: lib/ingest/vector-index.ts), each into an
//      empty database; `--first-import in-place|bulk|both` (default both);
//   2. the same documents again, unchanged: the same figures (expected: zero embedding calls);
//   3. webhook-to-searchable: Notion events through the real receiver, the real job queue (pg-boss) and
//      the fake Notion API, timed from "event received" to "chunks committed" (p50/p95).
// Prints figures and the machine; asserts nothing about time.
import { fork } from "node:child_process";
import { randomBytes, randomUUID } from "node:crypto";
import { readFile } from "node:fs/promises";
import { cpus } from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { resetConfig } from "@/lib/config";
import { setDb, type Db } from "@/lib/db/client";
import { JobQueue, setQueue } from "@/lib/jobs/queue";
import { Llm } from "@/lib/llm";
import { ingestDocuments, type SourceDocument } from "@/lib/ingest/pipeline";
import { createNotionSource } from "@/lib/ingest/notion";
import { openWebhookHandshake, receiveNotionWebhook } from "@/lib/ingest/notion-webhook";
import { ingestJobs } from "@/lib/ingest/jobs";
import { withBulkVectorIndex } from "@/lib/ingest/vector-index";
import { signWebhookPayload } from "@notionhq/client";
import { nid, startFakeNotion } from "../../tests/fakes/notion";
import { startFakeOllama } from "../../tests/fakes/ollama";
import { backendCpu, cpuSince, loadAverage, machine, processCpu, scratchDb } from "./lib";

const CORPUS = process.env.SCIFACT_CORPUS ?? path.resolve(process.cwd(), "..", "shared", "data", "scifact", "corpus.jsonl");
const GROUP = 256; // documents per pipeline call (embedding batches span documents)
const FIRST_IMPORT = parseArgs({ options: { "first-import": { type: "string", default: "both" } } }).values["first-import"]!;
if (!["in-place", "bulk", "both"].includes(FIRST_IMPORT)) throw new Error(`--first-import must be in-place, bulk or both (got ${FIRST_IMPORT})`);
const WEBHOOK_EVENTS = Number(process.env.BENCH_WEBHOOK_EVENTS ?? 40);
// Knobs for comparing write settings (defaults: the pipeline's own).
const num = (v: string | undefined) => (v ? Number(v) : undefined);
const writeOptions = {
  writers: num(process.env.BENCH_WRITERS),
  writeBatchDocs: num(process.env.BENCH_WRITE_BATCH_DOCS),
  writeBatchChunks: num(process.env.BENCH_WRITE_BATCH_CHUNKS),
};

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] ?? NaN;
};
const histogram = (sizes: number[]) => {
  const m = new Map<number, number>();
  for (const s of sizes) m.set(s, (m.get(s) ?? 0) + 1);
  return [...m.entries()].sort((a, b) => b[0] - a[0]).map(([size, n]) => `${n}×${size}`).join(", ") || "none";
};

/**
 * The fake Ollama runs in a child process by default: a real Ollama is another process too, and the
 * fake's hashing and JSON would otherwise block this process's event loop while
 * the database waits for the next statement. Its CPU is still spent on the same cores, and reported.
 * BENCH_OLLAMA=inprocess keeps it in this process (as measured before).
 */
async function startOllama(): Promise<{ url: string; where: string; pid: number | null; close(): Promise<void> }> {
  if (process.env.BENCH_OLLAMA === "inprocess") {
    const o = await startFakeOllama();
    return { url: o.url, where: "in this process", pid: null, close: () => o.close() };
  }
  const child = fork(process.argv[1]!, [], { execArgv: process.execArgv, env: { ...process.env, SOT_BENCH_ROLE: "fake-ollama" } });
  const url = await new Promise<string>((resolve, reject) => {
    child.once("message", (m) => resolve((m as { url: string }).url));
    child.once("exit", (code) => reject(new Error(`the fake Ollama child process exited (${code})`)));
  });
  return {
    url,
    where: "in a child process",
    pid: child.pid ?? null,
    close: async () => {
      child.disconnect();
      child.kill();
    },
  };
}

async function main() {
  process.env.NOTION_WEBHOOK_DEBOUNCE_SECONDS ??= "0";
  process.env.NOTION_REQUESTS_PER_SECOND ??= "50";
  process.env.MASTER_KEYS ??= `bench:${randomBytes(32).toString("base64")}`;
  process.env.LOG_LEVEL ??= "warn";
  const ollama = await startOllama();
  const notion = await startFakeNotion({ pages: [] });
  process.env.OLLAMA_HOST = ollama.url;
  process.env.NOTION_API_URL = notion.url;
  resetConfig();
  const scratch = await scratchDb("ingest");
  const { db } = scratch;
  const realLlm = new Llm((await import("@/lib/config")).getConfig());
  // The time the fake Ollama takes to answer is reported apart (it shares the machine's cores).
  let embedMs = 0;
  const llm = {
    models: realLlm.models,
    async embed(texts: string[], kind: "query" | "document") {
      const t = performance.now();
      try {
        return await realLlm.embed(texts, kind);
      } finally {
        embedMs += performance.now() - t;
      }
    },
  };

  console.log(machine());
  console.log(`fake Ollama (hashed embeddings, answering at once): ${ollama.where}`);
  // The machine is shared: the load at the start says how much of it this run really had.
  console.log(`load average at start (1/5/15 min): ${loadAverage()}`);
  const lines = (await readFile(CORPUS, "utf8")).split("\n").filter(Boolean);
  const limit = Number(process.env.BENCH_DOCS ?? lines.length); // a smaller corpus for quick looks
  const docs: SourceDocument[] = lines.slice(0, limit).map((l) => {
    const r = JSON.parse(l) as { _id: string; title: string; text: string };
    return { externalId: r._id, title: r.title || `Abstract ${r._id}`, markdown: r.text };
  });
  console.log(`corpus: ${docs.length} SciFact abstracts from ${CORPUS}`);

  const col = await db.prisma.collection.create({ data: { slug: "scifact", name: "SciFact" } });
  const src = await db.prisma.source.create({ data: { collectionId: col.id, kind: "upload", name: "SciFact" } });
  const target = { sourceId: src.id, collectionId: col.id };

  const run = async (label: string, bulk = false) => {
    embedMs = 0;
    const dbCpuBefore = await backendCpu(db);
    const ollamaCpuBefore = ollama.pid ? await processCpu(ollama.pid) : null;
    const nodeCpuBefore = process.cpuUsage();
    const started = performance.now();
    let chunks = 0;
    let calls = 0;
    let unchanged = 0;
    let failed = 0;
    const sizes: number[] = [];
    let written = 0;
    const importAll = async () => {
      for (let i = 0; i < docs.length; i += GROUP) {
        const r = await ingestDocuments(db, target, docs.slice(i, i + GROUP), { llm, ...writeOptions });
        calls += r.embedCalls;
        sizes.push(...r.batchSizes);
        for (const o of r.outcomes) {
          chunks += o.chunks;
          if (o.status === "unchanged") unchanged++;
          if (o.status === "failed") failed++;
        }
      }
      written = performance.now();
    };
    if (bulk) await withBulkVectorIndex(db, docs.length, importAll, { force: true });
    else await importAll();
    const s = (performance.now() - started) / 1000;
    if (bulk) console.log(`  bulk: chunks written without the HNSW index in ${((written - started) / 1000).toFixed(1)} s, then the index built concurrently in ${((performance.now() - written) / 1000).toFixed(1)} s`);
    const nodeCpu = process.cpuUsage(nodeCpuBefore);
    const dbCpu = cpuSince(dbCpuBefore, await backendCpu(db));
    const ollamaCpuAfter = ollama.pid ? await processCpu(ollama.pid) : null;
    const ollamaCpu = ollamaCpuBefore !== null && ollamaCpuAfter !== null ? ollamaCpuAfter - ollamaCpuBefore : null;
    console.log(
      `${label}: ${docs.length} docs in ${s.toFixed(1)} s → ${(docs.length / s).toFixed(0)} docs/s, ` +
        `${chunks} chunks written → ${(chunks / s).toFixed(0)} chunks/s; embedding calls ${calls} (batches ${histogram(sizes)}); ` +
        `unchanged ${unchanged}, failed ${failed}`,
    );
    if (calls > 0)
      console.log(
        `  embedding calls were in flight for ${(embedMs / 1000).toFixed(1)} s of it (the pipeline writes earlier documents meanwhile)`,
      );
    if (chunks > 0)
      console.log(
        `  CPU: this process ${((nodeCpu.user + nodeCpu.system) / 1e6).toFixed(1)} s` +
          (ollama.pid ? (ollamaCpu === null ? "" : `, fake Ollama ${ollamaCpu.toFixed(1)} s`) : " (fake Ollama included)") +
          (dbCpu === null ? "" : `, PostgreSQL backends ${dbCpu.toFixed(1)} s = ${((dbCpu * 1000) / chunks).toFixed(2)} ms per chunk`) +
          ` (the machine has ${cpus().length} cores: ${(cpus().length * s).toFixed(0)} core-seconds in this time)`,
      );
    return s;
  };

  const first = await run(FIRST_IMPORT === "bulk" ? "first run, bulk (index built after)" : "first run, HNSW index in place", FIRST_IMPORT === "bulk");
  const second = await run("unchanged re-run");
  if (FIRST_IMPORT === "both") {
    // The same first import again into an empty database, the bulk way.
    await db.sql.exec(`TRUNCATE chunks, documents CASCADE`);
    await db.sql.exec(`VACUUM ANALYZE chunks, documents, chunk_terms, chunk_lengths`);
    const bulk = await run("first run, bulk (index built after)", true);
    console.log(`bulk first import vs index in place: ${(first / bulk).toFixed(2)}× as fast (the faster one is what imports use, docs/scale.md)`);
  }
  // The floor under the first run: what pgvector's HNSW insert alone costs on this machine right now.
  await db.sql.exec(`CREATE TABLE bench_hnsw (e vector(768)); CREATE INDEX ON bench_hnsw USING hnsw (e vector_cosine_ops);`);
  const hnswStarted = performance.now();
  await db.sql.exec(`INSERT INTO bench_hnsw SELECT embedding FROM chunks ORDER BY id LIMIT 1000`);
  const hnswMs = (performance.now() - hnswStarted) / 1000;
  console.log(`pgvector HNSW insert alone (1,000 of these vectors into an empty index, one backend): ${hnswMs.toFixed(2)} ms per vector → at most ${(1000 / hnswMs).toFixed(0)} chunks/s`);
  await db.sql.exec(`DROP TABLE bench_hnsw`);
  const total = await db.prisma.chunk.count();
  console.log(`chunks stored: ${total}; unchanged re-run is ${(first / second).toFixed(1)}× faster than the first run`);

  // Webhook → searchable, through the real queue.
  setDb(db);
  const queue = await JobQueue.open(db);
  setQueue(queue);
  await queue.work(ingestJobs);
  const notionSource = await createNotionSource(db, { collectionId: col.id, name: "Notion", token: notion.token });
  const verify = "secret_bench_verification";
  await openWebhookHandshake(db, notionSource.id); // as an admin does before subscribing Notion
  await receiveNotionWebhook(db, notionSource.id, JSON.stringify({ verification_token: verify }), null);
  const latencies: number[] = [];
  for (let i = 0; i < WEBHOOK_EVENTS; i++) {
    const id = nid(5000 + i);
    const word = `benchword${i}x${randomBytes(3).toString("hex")}`;
    notion.upsertPage({ id, title: `Edited page ${i}`, parent: { type: "workspace" }, markdown: `# Edited ${i}\n\nThis edit introduces ${word}.` });
    const body = JSON.stringify({ id: randomUUID(), timestamp: new Date().toISOString(), type: "page.content_updated", entity: { id, type: "page" }, data: {} });
    const t0 = performance.now();
    await receiveNotionWebhook(db, notionSource.id, body, await signWebhookPayload({ body, verificationToken: verify }));
    for (;;) {
      const [{ n }] = await db.prisma.$queryRaw<Array<{ n: number }>>`SELECT count(*)::int AS n FROM chunks WHERE text LIKE ${"%" + word + "%"}`;
      if (n > 0) break;
      if (performance.now() - t0 > 60_000) throw new Error("webhook edit not searchable within 60 s");
      await new Promise((r) => setTimeout(r, 20));
    }
    latencies.push(performance.now() - t0);
  }
  console.log(
    `webhook-to-searchable (debounce ${process.env.NOTION_WEBHOOK_DEBOUNCE_SECONDS} s, ${WEBHOOK_EVENTS} events, real pg-boss queue): ` +
      `p50 ${(pct(latencies, 50) / 1000).toFixed(2)} s, p95 ${(pct(latencies, 95) / 1000).toFixed(2)} s, max ${(Math.max(...latencies) / 1000).toFixed(2)} s`,
  );

  await queue.stop();
  await scratch.drop();
  await ollama.close();
  await notion.close();
}

if (process.env.SOT_BENCH_ROLE === "fake-ollama") {
  // The child process: serve the fake Ollama until the parent goes away.
  void startFakeOllama().then((o) => {
    process.send?.({ url: o.url });
    process.on("disconnect", () => void o.close().then(() => process.exit(0)));
  });
} else main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
