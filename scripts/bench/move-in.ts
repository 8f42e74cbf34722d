// npm run bench:move-in — moving in from Supabase at scale, on PostgreSQL with the fake Ollama (in a
// child process, like a real Ollama; embeddings answered at once):
//   1. a generated plain-SQL pg_dump of 50,000 chunks (1536-dimension embeddings, `extensions.vector`,
//      Notion-style metadata, 5 chunks per page) written to a temporary file;
//   2. the dry run over it: parse rate (rows/s) and the process's memory peak;
//   3. the import end to end (read, stage, every page through the pipeline): time, pages/s, chunks,
//      embedding calls, memory peak (the dump is streamed: the peak must stay far below its size);
//   4. the same import again: time and embedding calls (expected: none).
// Knobs: BENCH_MOVE_IN_ROWS (50000), BENCH_MOVE_IN_DIM (1536). Prints figures and the machine; asserts
// nothing about time.
import { fork } from "node:child_process";
import { once } from "node:events";
import { createWriteStream, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { systemContext } from "@/lib/access/context";
import { resetConfig } from "@/lib/config";
import { Llm } from "@/lib/llm";
import { parseConfig } from "@/lib/config";
import { moveIn } from "@/lib/supabase-import";
import { startFakeOllama } from "../../tests/fakes/ollama";
import { loadAverage, machine, scratchDb } from "./lib";

const ROWS = Number(process.env.BENCH_MOVE_IN_ROWS ?? 50_000);
const DIM = Number(process.env.BENCH_MOVE_IN_DIM ?? 1536);
const CHUNKS_PER_PAGE = 5;

/** Peak resident memory of this process, sampled every 50 ms between `start` and `stop`. */
function memoryPeak() {
  let peak = 0;
  const sample = () => (peak = Math.max(peak, process.memoryUsage().rss));
  sample();
  const t = setInterval(sample, 50);
  return {
    stop() {
      clearInterval(t);
      sample();
      return peak;
    },
  };
}
const mib = (b: number) => `${(b / 2 ** 20).toFixed(0)} MiB`;
const vmHwm = () => /VmHWM:\s+(\d+) kB/.exec(readFileSync("/proc/self/status", "utf8"))?.[1];

const WORDS = "deploy rollback pager runbook holiday expense travel quillctl gauge owner review quarter budget approval access key token incident".split(" ");

async function writeDump(file: string): Promise<void> {
  const out = createWriteStream(file, { highWaterMark: 1 << 20 });
  const write = async (s: string) => {
    if (!out.write(s)) await once(out, "drain");
  };
  await write(
    "--\n-- PostgreSQL database dump\n--\n\nSET statement_timeout = 0;\nSET client_encoding = 'UTF8';\n\n" +
      `CREATE TABLE public.wiki_chunks (\n    id bigint NOT NULL,\n    content text,\n    metadata jsonb DEFAULT '{}'::jsonb NOT NULL,\n    embedding extensions.vector(${DIM}),\n    created_at timestamp with time zone DEFAULT now() NOT NULL\n);\n\n` +
      "COPY public.wiki_chunks (id, content, metadata, embedding, created_at) FROM stdin;\n",
  );
  let seed = 1;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
  for (let i = 0; i < ROWS; i++) {
    const page = Math.floor(i / CHUNKS_PER_PAGE);
    const k = i % CHUNKS_PER_PAGE;
    const text = Array.from({ length: 60 }, (_, w) => WORDS[(page * 7 + k * 3 + w * 5) % WORDS.length]).join(" ");
    const meta = JSON.stringify({ title: `Page ${page}`, url: `https://www.notion.so/kestrel/Page-${page}`, page_id: `p-${page}`, heading: `Section ${k}`, chunk_index: k });
    const vec = Array.from({ length: DIM }, () => (rnd() * 2 - 1).toFixed(6)).join(",");
    // COPY text format: tabs separate, backslashes are escaped.
    await write(`${i + 1}\t${text}. Page ${page} part ${k}.\t${meta.replace(/\\/g, "\\\\")}\t[${vec}]\t2026-11-01 10:00:00+00\n`);
  }
  await write("\\.\n\n\n--\n-- PostgreSQL database dump complete\n--\n\n");
  out.end();
  await once(out, "finish");
}

async function main() {
  const started = new Date();
  console.log(`bench:move-in — ${started.toISOString()}`);
  console.log(machine());
  console.log(`load average at start: ${loadAverage()}`);
  const dir = mkdtempSync(path.join(tmpdir(), "sot-bench-movein-"));
  const file = path.join(dir, "export.sql");
  const child = fork(process.argv[1]!, [], { execArgv: process.execArgv, env: { ...process.env, SOT_BENCH_ROLE: "fake-ollama" } });
  const [{ url: ollamaUrl }] = (await once(child, "message")) as [{ url: string }];
  process.env.OLLAMA_HOST = ollamaUrl;
  resetConfig();
  const llm = new Llm(parseConfig({ OLLAMA_HOST: ollamaUrl, OLLAMA_TIMEOUT_MS: "60000" }));
  let embedCalls = 0;
  const counting: Pick<Llm, "embed" | "models"> = {
    models: llm.models,
    embed: (texts, kind) => {
      embedCalls++;
      return llm.embed(texts, kind);
    },
  };
  const scratch = await scratchDb("movein");
  try {
    let t = performance.now();
    await writeDump(file);
    const size = statSync(file).size;
    console.log(`\ngenerated dump: ${ROWS.toLocaleString("en")} rows, ${DIM} dimensions, ${mib(size)} in ${((performance.now() - t) / 1000).toFixed(1)} s`);

    const col = await scratch.db.prisma.collection.create({ data: { slug: "old-wiki", name: "Old wiki" } });
    const ctx = systemContext(scratch.db, "bench:move-in", [col.id]);

    let mem = memoryPeak();
    t = performance.now();
    const dry = await moveIn(ctx, { from: { path: file }, collectionId: col.id, dryRun: true }, { llm: counting });
    let s = (performance.now() - t) / 1000;
    console.log(`\ndry run (parse only): ${dry.rows.toLocaleString("en")} rows → ${dry.documents.toLocaleString("en")} pages in ${s.toFixed(1)} s = ${Math.round(dry.rows / s).toLocaleString("en")} rows/s (${mib(size / s)}/s); memory peak ${mib(mem.stop())} RSS`);

    mem = memoryPeak();
    t = performance.now();
    const first = await moveIn(ctx, { from: { path: file }, collectionId: col.id }, { llm: counting });
    s = (performance.now() - t) / 1000;
    const [{ chunks }] = await scratch.db.sql.query<{ chunks: number }>(`SELECT count(*)::int AS chunks FROM chunks`);
    console.log(
      `import end to end: ${first.job!.done.toLocaleString("en")} pages (${first.job!.failed} failed), ${chunks.toLocaleString("en")} SOT chunks, ` +
        `${embedCalls} embedding calls in ${s.toFixed(1)} s = ${Math.round(first.job!.done / s)} pages/s, ${Math.round(dry.rows / s)} old rows/s; memory peak ${mib(mem.stop())} RSS`,
    );
    const callsBefore = embedCalls;
    mem = memoryPeak();
    t = performance.now();
    const second = await moveIn(ctx, { from: { path: file }, collectionId: col.id }, { llm: counting });
    s = (performance.now() - t) / 1000;
    console.log(`same import again: ${second.job!.unchanged.toLocaleString("en")} of ${second.job!.done.toLocaleString("en")} pages unchanged, ${embedCalls - callsBefore} embedding calls, ${s.toFixed(1)} s; memory peak ${mib(mem.stop())} RSS`);
    console.log(`\nprocess memory high-water mark (VmHWM, whole run): ${mib(Number(vmHwm() ?? 0) * 1024)} — limit 1 GiB`);
    console.log(`load average at end: ${loadAverage()}`);
  } finally {
    await scratch.drop();
    child.kill();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.env.SOT_BENCH_ROLE === "fake-ollama") {
  void startFakeOllama().then((o) => process.send?.({ url: o.url }));
} else {
  await main();
}
