// Hostile uploads, built by the tests themselves (nothing committed, nothing big allocated): a DOCX
// that is a zip bomb (honest or lying about its sizes), a DOCX with thousands of entries, PDFs whose
// small compressed content streams inflate to millions of text operators (slow to read) or to one
// enormous string (memory-hungry), and a 1 GB body made on the fly.
import { deflateSync } from "node:zlib";
import { strToU8, unzipSync, Zip, ZipDeflate, Zlib, zipSync } from "fflate";
import { buildDocx } from "@/tests/fakes/documents";

const CENTRAL = 0x02014b50;

/**
 * A valid DOCX plus `word/media/image1.bin`, which unpacks to `unpackedBytes` zero bytes (streamed
 * through fflate 1 MB at a time, so the test never holds it). `lieAboutSize`: the central directory
 * claims the entry unpacks to that many bytes instead.
 */
export function buildZipBombDocx(unpackedBytes: number, opts: { lieAboutSize?: number } = {}): Uint8Array {
  const parts = unzipSync(buildDocx([{ heading: "Quarterly report" }, { paragraph: "Nothing to see here." }]));
  const out: Uint8Array[] = [];
  const zip = new Zip((err, chunk) => {
    if (err) throw err;
    out.push(chunk);
  });
  for (const [name, data] of Object.entries(parts)) {
    const entry = new ZipDeflate(name, { level: 6 });
    zip.add(entry);
    entry.push(data, true);
  }
  const bomb = new ZipDeflate("word/media/image1.bin", { level: 9 });
  zip.add(bomb);
  const zeros = new Uint8Array(1 << 20);
  for (let left = unpackedBytes; left > 0; left -= zeros.length) {
    bomb.push(left > zeros.length ? zeros : zeros.subarray(0, left), left <= zeros.length);
  }
  zip.end();
  const bytes = Buffer.concat(out);
  if (opts.lieAboutSize !== undefined) {
    for (let i = bytes.length - 46; i >= 0; i--) {
      if (bytes.readUInt32LE(i) !== CENTRAL) continue;
      const nameLength = bytes.readUInt16LE(i + 28);
      if (bytes.toString("utf8", i + 46, i + 46 + nameLength) === "word/media/image1.bin") {
        bytes.writeUInt32LE(opts.lieAboutSize, i + 24);
        break;
      }
    }
  }
  return new Uint8Array(bytes);
}

/** A DOCX-named ZIP with `count` tiny entries. */
export function buildManyEntriesDocx(count: number): Uint8Array {
  const files: Record<string, Uint8Array> = { ...unzipSync(buildDocx([{ paragraph: "Many parts." }])) };
  for (let i = 0; i < count; i++) files[`customXml/item${i}.xml`] = strToU8("<x/>");
  return zipSync(files, { level: 0 });
}

/**
 * A valid one-page PDF whose content stream (Flate-compressed, so the file stays small) holds
 * `operators` text-showing operators: PDF.js takes long to read it.
 */
export function buildSlowPdf(operators: number): Uint8Array {
  const unit = "(slow) Tj ";
  const raw = Buffer.alloc(12 + unit.length * operators + 3);
  let at = raw.write("BT /F1 1 Tf ", 0, "latin1");
  for (let i = 0; i < operators; i++) at += raw.write(unit, at, "latin1");
  raw.write("ET\n", at, "latin1");
  return pdfWithContent(raw);
}

/**
 * A valid one-page PDF showing one string of `length` characters (compressed 1 MB at a time, so the
 * test never holds it): reading it needs that much memory and more.
 */
export function buildHungryPdf(length: number): Uint8Array {
  const out: Uint8Array[] = [];
  const deflate = new Zlib({ level: 9 }, (chunk) => out.push(chunk)); // zlib format, as FlateDecode wants
  deflate.push(strToU8("BT /F1 12 Tf ("));
  const block = new Uint8Array(1 << 20).fill(0x41);
  for (let left = length; left > 0; left -= block.length) deflate.push(left > block.length ? block : block.subarray(0, left));
  deflate.push(strToU8(") Tj ET\n"), true);
  return pdfAround(Buffer.concat(out));
}

/** A one-page PDF around a content stream, compressed. */
function pdfWithContent(raw: Buffer): Uint8Array {
  return pdfAround(deflateSync(raw, { level: 9 }));
}

/** A one-page PDF around an already Flate-compressed content stream. */
function pdfAround(stream: Buffer): Uint8Array {
  const objects = [
    "<< /Type /Catalog /Pages 2 0 R >>",
    "<< /Type /Pages /Kids [4 0 R] /Count 1 >>",
    "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 3 0 R >> >> /Contents 5 0 R >>",
  ];
  const chunks: Buffer[] = [];
  let length = 0;
  const add = (b: Buffer) => {
    chunks.push(b);
    length += b.length;
  };
  const offsets: number[] = [];
  add(Buffer.from("%PDF-1.4\n", "latin1"));
  objects.forEach((o, i) => {
    offsets.push(length);
    add(Buffer.from(`${i + 1} 0 obj\n${o}\nendobj\n`, "latin1"));
  });
  offsets.push(length);
  add(Buffer.from(`5 0 obj\n<< /Length ${stream.length} /Filter /FlateDecode >>\nstream\n`, "latin1"));
  add(stream);
  add(Buffer.from("\nendstream\nendobj\n", "latin1"));
  const xref = length;
  add(Buffer.from(`xref\n0 6\n0000000000 65535 f \n${offsets.map((o) => `${String(o).padStart(10, "0")} 00000 n \n`).join("")}`, "latin1"));
  add(Buffer.from(`trailer\n<< /Size 6 /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`, "latin1"));
  return new Uint8Array(Buffer.concat(chunks));
}

/**
 * A multipart body of about `totalBytes`, produced chunk by chunk as it is read (one 64 KB block,
 * sent again and again): one file part that never ends before the limit.
 */
export function endlessMultipart(boundary: string, totalBytes: number, filename = "huge.md"): { stream: ReadableStream<Uint8Array>; sent: () => number } {
  const head = Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${filename}"\r\nContent-Type: text/markdown\r\n\r\n`);
  const block = new Uint8Array(65_536).fill(0x61);
  let sent = 0;
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (sent === 0) {
        sent += head.length;
        return controller.enqueue(new Uint8Array(head));
      }
      if (sent >= totalBytes) {
        controller.enqueue(new TextEncoder().encode(`\r\n--${boundary}--\r\n`));
        return controller.close();
      }
      sent += block.length;
      controller.enqueue(block);
    },
  });
  return { stream, sent: () => sent };
}
