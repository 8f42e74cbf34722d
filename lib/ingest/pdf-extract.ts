// PDF text extraction away from the web process: PDF.js (through unpdf) runs in a child Node process
// with a time limit and a memory limit, and is killed when it passes either. A hostile PDF (a content
// stream that inflates to gigabytes of operators, one huge string, a page tree made to loop) then
// costs at most those limits, and the web process keeps serving meanwhile.
//
// Why a process and not a worker thread: a worker's resourceLimits do not hold. A worker that reaches
// its heap limit while growing one large array (PDF.js's operator lists do exactly that) aborts the
// WHOLE process with "FATAL ERROR: Reached heap limit" (checked on Node 24.9: the near-heap-limit
// headroom Node gives a worker is smaller than one such allocation). A child process dies alone.
// The memory limit is the child's V8 heap (--max-old-space-size) plus a watch on its resident size,
// which also covers memory outside the heap (PDF.js inflates streams into typed arrays).
//
// At most PDF_EXTRACTIONS_AT_ONCE run at a time; the others wait their turn.
import { execFile, spawn } from "node:child_process";
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import path from "node:path";
import { UnprocessableError } from "../errors";

export interface PdfLimits {
  /** Wall-clock time one extraction may take, process start included. */
  timeoutMs: number;
  /** Memory one extraction may use: its V8 heap, and (plus a fixed allowance for Node itself) its resident size. */
  maxMemoryMb: number;
}

export interface PdfText {
  /** One string per page. */
  pages: string[];
  /** The document's Title metadata, or "". */
  title: string;
}

const PDF_EXTRACTIONS_AT_ONCE = 2;
/** Resident memory Node and PDF.js need before reading anything. */
const BASE_RSS_MB = 160;
/** Text handed back: more than this is refused rather than buffered. */
const MAX_OUTPUT_BYTES = 64_000_000;

// The child's code (CommonJS, run with -e so no file of its own has to sit next to the built app). It
// reads the PDF from stdin and writes one JSON line to stdout. argv[1] is unpdf's path.
const CHILD_SOURCE = `
const { getDocumentProxy, extractText, getMeta } = require(process.argv[1]);
const chunks = [];
const done = (m) => process.stdout.write(JSON.stringify(m), () => process.exit(0));
process.stdin.on("data", (c) => chunks.push(c));
process.stdin.on("end", async () => {
  let pdf;
  try {
    const bytes = new Uint8Array(Buffer.concat(chunks));
    chunks.length = 0;
    pdf = await getDocumentProxy(bytes, { verbosity: 0 });
  } catch (e) {
    return done({ ok: false, message: String((e && e.message) || e) });
  }
  try {
    const { text } = await extractText(pdf, { mergePages: false });
    const meta = await getMeta(pdf).catch(() => null);
    const title = meta && meta.info && typeof meta.info.Title === "string" ? meta.info.Title.trim() : "";
    done({ ok: true, pages: text, title });
  } catch (e) {
    done({ ok: false, message: String((e && e.message) || e) });
  }
});
`;

let unpdfPath: string | undefined;
function resolveUnpdf(): string {
  // From the project folder (the process's working directory), not from this file: inside the Next.js
  // build this file lives under .next/, where there is no node_modules.
  return (unpdfPath ??= createRequire(path.join(process.cwd(), "package.json")).resolve("unpdf"));
}

let running = 0;
const waiting: Array<() => void> = [];
async function turn(): Promise<() => void> {
  if (running >= PDF_EXTRACTIONS_AT_ONCE) await new Promise<void>((r) => waiting.push(r));
  running++;
  return () => {
    running--;
    waiting.shift()?.();
  };
}

/** A process's resident size in MB (Linux: /proc; macOS and others: ps), or null when unknown. */
async function residentMb(pid: number): Promise<number | null> {
  try {
    const status = await readFile(`/proc/${pid}/status`, "utf8");
    const kb = /^VmRSS:\s+(\d+)\s+kB/m.exec(status)?.[1];
    return kb ? Number(kb) / 1024 : null;
  } catch {
    return new Promise((resolve) =>
      execFile("ps", ["-o", "rss=", "-p", String(pid)], (err, out) => resolve(err || !out.trim() ? null : Number(out.trim()) / 1024)),
    );
  }
}

function fail(filename: string, reason: string): never {
  throw new UnprocessableError(`${filename}: ${reason}`, { file: filename, reason });
}

type Outcome = { ok: true; pages: string[]; title: string } | { ok: false; reason: string };

/** The text of each page and the title, or 422 naming the file: unreadable, too slow, or too big to read. */
export async function extractPdfText(filename: string, bytes: Uint8Array, limits: PdfLimits): Promise<PdfText> {
  const release = await turn();
  try {
    const outcome = await new Promise<Outcome>((resolve) => {
      const tooSlow = `took longer than ${limits.timeoutMs} ms to read, the limit for a PDF; it was stopped`;
      const tooBig = `needs more than ${limits.maxMemoryMb} MB to read, the limit for a PDF; it was stopped`;
      // No environment: the child needs none, and settings (secrets among them) are not its business.
      const child = spawn(process.execPath, [`--max-old-space-size=${limits.maxMemoryMb}`, "-e", CHILD_SOURCE, resolveUnpdf()], {
        env: { NODE_ENV: "production" },
        stdio: ["pipe", "pipe", "pipe"],
      });
      let stopped: string | null = null;
      const stop = (reason: string) => {
        stopped ??= reason;
        child.kill("SIGKILL");
      };
      const timer = setTimeout(() => stop(tooSlow), limits.timeoutMs);
      const watch = setInterval(() => {
        if (child.pid === undefined || child.exitCode !== null) return;
        void residentMb(child.pid).then((mb) => {
          if (mb !== null && mb > limits.maxMemoryMb + BASE_RSS_MB) stop(tooBig);
        });
      }, 200);
      const out: Buffer[] = [];
      let outBytes = 0;
      let stderrTail = "";
      child.stdout.on("data", (c: Buffer) => {
        outBytes += c.length;
        if (outBytes > MAX_OUTPUT_BYTES) stop(`has more than ${MAX_OUTPUT_BYTES} bytes of text, the limit for a PDF`);
        else out.push(c);
      });
      child.stderr.on("data", (c: Buffer) => (stderrTail = (stderrTail + c.toString("utf8")).slice(-4000)));
      child.stdin.on("error", () => {}); // the child may die before reading everything: its exit says why
      child.on("error", (err) => stop(`could not be read: the PDF reader did not start (${err.message})`));
      child.on("close", (code, signal) => {
        clearTimeout(timer);
        clearInterval(watch);
        if (stopped) return resolve({ ok: false, reason: stopped });
        if (signal === "SIGABRT" || code === 134 || /heap out of memory|Reached heap limit/i.test(stderrTail)) return resolve({ ok: false, reason: tooBig });
        try {
          const m = JSON.parse(Buffer.concat(out).toString("utf8")) as { ok: boolean; pages?: string[]; title?: string; message?: string };
          resolve(m.ok ? { ok: true, pages: m.pages ?? [], title: m.title ?? "" } : { ok: false, reason: `is not a readable PDF (${m.message})` });
        } catch {
          resolve({ ok: false, reason: `is not a readable PDF (the reader stopped${signal ? ` by ${signal}` : ` with code ${code}`})` });
        }
      });
      child.stdin.end(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    });
    if (!outcome.ok) fail(filename, outcome.reason);
    return { pages: outcome.pages, title: outcome.title };
  } finally {
    release();
  }
}
