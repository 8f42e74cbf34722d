// Turns an uploaded file into markdown: md, txt, html, pdf, docx, json.
// A file is checked against what its name claims before it is parsed, so a PDF renamed .md or a text
// file named .docx is rejected with a reason instead of being ingested as garbage. Every rejection
// names the file and the reason (UnsupportedMediaTypeError 415 for the kind, UnprocessableError 422 for
// empty, corrupt, mislabelled or unreadable content, 413 for size — the file's, or what a DOCX unpacks to).
// Hostile files cost bounded work: a DOCX's ZIP is checked against entry and unpacked-size limits before
// it is parsed (zip-limits.ts), and PDFs are read in a worker thread with time and memory limits
// (pdf-extract.ts), so neither can stall or exhaust the web process.
import mammoth from "mammoth";
import { NodeHtmlMarkdown } from "node-html-markdown";
import { getConfig } from "../config";
import { PayloadTooLargeError, UnprocessableError, UnsupportedMediaTypeError } from "../errors";
import { extractPdfText, type PdfLimits } from "./pdf-extract";
import { assertZipWithinLimits, type ZipLimits } from "./zip-limits";

export type ConvertLimits = ZipLimits & { pdf: PdfLimits };

/** The limits from the settings (INGEST_ZIP_*, INGEST_PDF_*). */
export function convertLimits(): ConvertLimits {
  const c = getConfig();
  return {
    maxEntries: c.INGEST_ZIP_MAX_ENTRIES,
    maxUnpackedBytes: c.INGEST_ZIP_MAX_UNPACKED_BYTES,
    pdf: { timeoutMs: c.INGEST_PDF_TIMEOUT_MS, maxMemoryMb: c.INGEST_PDF_MAX_MEMORY_MB },
  };
}

export type UploadFormat = "md" | "txt" | "html" | "pdf" | "docx" | "json";

export interface ConvertedFile {
  title: string;
  markdown: string;
  format: UploadFormat;
}

const EXTENSIONS: Record<string, UploadFormat> = {
  md: "md",
  markdown: "md",
  txt: "txt",
  text: "txt",
  html: "html",
  htm: "html",
  pdf: "pdf",
  docx: "docx",
  json: "json",
};

export const SUPPORTED_EXTENSIONS = Object.keys(EXTENSIONS);

export function formatOf(filename: string): UploadFormat | null {
  const ext = /\.([a-z0-9]+)$/i.exec(filename)?.[1]?.toLowerCase();
  return ext ? (EXTENSIONS[ext] ?? null) : null;
}

function fail(filename: string, reason: string): never {
  throw new UnprocessableError(`${filename}: ${reason}`, { file: filename, reason });
}

function sniff(bytes: Uint8Array): "pdf" | "zip" | "binary" | "text" {
  const head = Buffer.from(bytes.subarray(0, 8)).toString("latin1");
  if (head.startsWith("%PDF-")) return "pdf";
  if (head.startsWith("PK\u0003\u0004")) return "zip";
  const sample = bytes.subarray(0, 8192);
  if (sample.includes(0)) return "binary";
  return "text";
}

function decodeText(filename: string, bytes: Uint8Array): string {
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes).replace(/^\uFEFF/, "");
  } catch {
    fail(filename, "is not valid UTF-8 text");
  }
}

function titleFromName(filename: string): string {
  const base = filename.split(/[\\/]/).pop() ?? filename;
  return base.replace(/\.[^.]+$/, "").replace(/[_-]+/g, " ").trim() || base;
}

const html2md = new NodeHtmlMarkdown({ codeFence: "```", bulletMarker: "-" });

/** Converts one file; throws a typed 4xx error naming the file when it cannot. */
export async function convertToMarkdown(filename: string, bytes: Uint8Array, maxBytes: number, limits: ConvertLimits = convertLimits()): Promise<ConvertedFile> {
  const format = formatOf(filename);
  if (!format) {
    throw new UnsupportedMediaTypeError(
      `${filename}: unsupported file type; upload one of ${SUPPORTED_EXTENSIONS.map((e) => "." + e).join(", ")}`,
      { file: filename, reason: "unsupported file type", supported: SUPPORTED_EXTENSIONS },
    );
  }
  if (bytes.byteLength > maxBytes) throw new PayloadTooLargeError(maxBytes, filename);
  if (bytes.byteLength === 0) fail(filename, "is empty");

  const kind = sniff(bytes);
  const expected = format === "pdf" ? "pdf" : format === "docx" ? "zip" : "text";
  if (kind !== expected) {
    const actual = kind === "pdf" ? "a PDF" : kind === "zip" ? "a ZIP/Office file" : kind === "binary" ? "binary data" : "plain text";
    fail(filename, `is named .${filename.split(".").pop()} but contains ${actual}`);
  }

  let title = titleFromName(filename);
  let markdown: string;
  switch (format) {
    case "md":
    case "txt": {
      markdown = decodeText(filename, bytes);
      if (format === "md") title = /^#\s+(.+)$/m.exec(markdown)?.[1]?.trim() || title;
      break;
    }
    case "html": {
      const html = decodeText(filename, bytes);
      if (!/<[a-z!][^>]*>/i.test(html)) fail(filename, "does not contain HTML markup");
      title = decodeEntities(/<title[^>]*>([^<]*)<\/title>/i.exec(html)?.[1]?.trim() ?? "") || title;
      markdown = html2md.translate(html.replace(/<head[\s\S]*?<\/head>/i, ""));
      break;
    }
    case "json": {
      const text = decodeText(filename, bytes);
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch (e) {
        fail(filename, `is not valid JSON (${(e as Error).message})`);
      }
      if (value && typeof value === "object" && !Array.isArray(value)) {
        const t = (value as Record<string, unknown>).title ?? (value as Record<string, unknown>).name;
        if (typeof t === "string" && t.trim()) title = t.trim();
      }
      markdown = jsonToMarkdown(value);
      break;
    }
    case "pdf":
      ({ title, markdown } = await pdfToMarkdown(filename, bytes, title, limits.pdf));
      break;
    case "docx":
      await assertZipWithinLimits(filename, bytes, limits);
      markdown = await docxToMarkdown(filename, bytes);
      title = /^#\s+(.+)$/m.exec(markdown)?.[1]?.trim() || title;
      break;
  }
  if (!markdown.trim()) fail(filename, "contains no text");
  return { title, markdown: markdown.trim() + "\n", format };
}

async function pdfToMarkdown(filename: string, bytes: Uint8Array, fallbackTitle: string, limits: PdfLimits) {
  const { pages, title } = await extractPdfText(filename, bytes, limits);
  // Pages become sections so a citation can say which page a passage is on.
  const markdown = pages
    .map((page, i) => (page.trim() ? `## Page ${i + 1}\n\n${page.trim()}` : ""))
    .filter(Boolean)
    .join("\n\n");
  return { title: title || fallbackTitle, markdown };
}

async function docxToMarkdown(filename: string, bytes: Uint8Array): Promise<string> {
  let html: string;
  try {
    // mammoth's own markdown output is deprecated; its HTML is clean and converts well.
    ({ value: html } = await mammoth.convertToHtml({ buffer: Buffer.from(bytes) }));
  } catch (e) {
    fail(filename, `is not a readable DOCX document (${(e as Error).message})`);
  }
  return html2md.translate(html);
}

function decodeEntities(s: string): string {
  return s.replace(/&amp;/g, "&").replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&quot;/g, '"').replace(/&#39;/g, "'");
}

/** JSON as readable markdown: keys become bold labels, nesting becomes nested lists. */
export function jsonToMarkdown(value: unknown, depth = 0): string {
  const pad = "  ".repeat(depth);
  const scalar = (v: unknown) => (v === null ? "null" : typeof v === "string" ? v : JSON.stringify(v));
  if (Array.isArray(value)) {
    if (value.length === 0) return `${pad}- (empty list)`;
    return value
      .map((v) => (v !== null && typeof v === "object" ? `${pad}-\n${jsonToMarkdown(v, depth + 1)}` : `${pad}- ${scalar(v)}`))
      .join("\n");
  }
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>);
    if (entries.length === 0) return `${pad}- (empty object)`;
    return entries
      .map(([k, v]) =>
        v !== null && typeof v === "object" ? `${pad}- **${k}**:\n${jsonToMarkdown(v, depth + 1)}` : `${pad}- **${k}**: ${scalar(v)}`,
      )
      .join("\n");
  }
  return `${pad}${scalar(value)}`;
}
