// A streaming multipart/form-data reader (RFC 7578) for uploads. It reads the request body chunk by
// chunk and hands out one file at a time, so a request body is never held in memory as a whole (let
// alone copied): the bytes of the current file are all that is kept, and the next file is not read
// until the caller asks for it. Limits are enforced while reading — the whole body, each file, header
// and field sizes, the number of parts — and a body that breaks the format gets a 400 that says how.
import { AppError, PayloadTooLargeError, UnsupportedMediaTypeError, ValidationError } from "../errors";

export interface MultipartFile {
  /** The form field's name. */
  field: string;
  /** The file name the client sent, with the relative path given with it (see `uploadPath`). */
  filename: string;
  bytes: Uint8Array;
}

export interface MultipartLimits {
  /** The whole body. */
  maxBodyBytes: number;
  /** One file. */
  maxFileBytes: number;
  /** Parts of any kind (fields and files). */
  maxParts?: number;
  /** One part's header block. */
  maxHeaderBytes?: number;
  /** A text (non-file) field's value. */
  maxFieldBytes?: number;
  /** Fields that must carry files: a text value under one of these names is a 400. */
  fileFields?: string[];
}

const CRLF = Buffer.from("\r\n");
const HEADER_END = Buffer.from("\r\n\r\n");

function malformed(reason: string): never {
  throw new ValidationError(`The multipart body is malformed: ${reason}.`, [{ path: "(body)", message: reason }]);
}

/** The boundary parameter of a multipart/form-data content type; 415/400 when there is none. */
export function multipartBoundary(contentType: string | null): string {
  const type = contentType ?? "";
  if (!/^multipart\/form-data\b/i.test(type)) {
    throw new UnsupportedMediaTypeError(`Send files as multipart/form-data (got ${type || "no content type"}).`);
  }
  const m = /;\s*boundary=(?:"([^"]{1,70})"|([^\s;,"]{1,70}))/i.exec(type);
  const boundary = m?.[1] ?? m?.[2];
  if (!boundary) malformed("the content type has no boundary parameter (multipart/form-data; boundary=…)");
  return boundary;
}

/** A header parameter (`name="file"`, `filename*=UTF-8''…`). */
function param(header: string, name: string): string | undefined {
  const star = new RegExp(`;\\s*${name}\\*\\s*=\\s*([^;]+)`, "i").exec(header);
  if (star) {
    const value = star[1]!.trim().replace(/^"|"$/g, "");
    const enc = /^([\w-]+)'[^']*'(.*)$/.exec(value);
    try {
      return decodeURIComponent(enc ? enc[2]! : value);
    } catch {
      /* fall through to the plain form */
    }
  }
  const quoted = new RegExp(`;\\s*${name}\\s*=\\s*"((?:[^"\\\\]|\\\\.)*)"`, "i").exec(header);
  if (quoted) return quoted[1]!.replace(/\\(.)/g, "$1");
  const plain = new RegExp(`;\\s*${name}\\s*=\\s*([^;\\s]+)`, "i").exec(header);
  return plain?.[1];
}

function parseHeaders(block: Buffer, index: number): { field: string; filename: string | undefined } {
  const lines = block.toString("utf8").split("\r\n");
  let disposition: string | undefined;
  for (const line of lines) {
    const colon = line.indexOf(":");
    if (colon <= 0) malformed(`part ${index} has a header line without a name ("${line.slice(0, 40)}")`);
    if (line.slice(0, colon).trim().toLowerCase() === "content-disposition") disposition = line.slice(colon + 1).trim();
  }
  if (!disposition || !/^form-data\b/i.test(disposition)) malformed(`part ${index} has no Content-Disposition: form-data header`);
  const field = param(disposition, "name");
  if (field === undefined) malformed(`part ${index} has no field name`);
  const filename = param(disposition, "filename");
  return { field, filename: filename === undefined ? undefined : uploadPath(filename) };
}

/**
 * The name a file is known by: the relative path the client gave with it (a folder upload sends
 * `handbook/travel.md`), with backslashes as slashes and without a leading slash, `.` or `..` parts
 * (never used as a file-system path: it is the file's key in its collection).
 */
export function uploadPath(filename: string): string {
  const parts = filename.split(/[\\/]+/).filter((p) => p !== "" && p !== "." && p !== "..");
  return parts.join("/") || "unnamed";
}

/**
 * The files of a multipart/form-data request, one at a time, as they arrive. Text fields are read
 * (within `maxFieldBytes`) and skipped. Throws 413 as soon as the body or a file is over its limit,
 * 400 naming the problem for a malformed body, 415 for another content type.
 */
export async function* readMultipartFiles(request: Request, limits: MultipartLimits): AsyncGenerator<MultipartFile> {
  const boundary = multipartBoundary(request.headers.get("content-type"));
  const declared = Number(request.headers.get("content-length") ?? "NaN");
  if (Number.isFinite(declared) && declared > limits.maxBodyBytes) throw new PayloadTooLargeError(limits.maxBodyBytes);
  if (!request.body) malformed("the body is empty");
  const maxParts = limits.maxParts ?? 1000;
  const maxHeaderBytes = limits.maxHeaderBytes ?? 16_384;
  const maxFieldBytes = limits.maxFieldBytes ?? 65_536;
  // Every delimiter is CRLF "--" boundary; the body is read as if it started with a CRLF, so the first
  // one (which may start the body) needs no special case.
  const delimiter = Buffer.from(`\r\n--${boundary}`);
  const reader = request.body.getReader();
  let total = 0;
  let buf: Buffer = Buffer.from(CRLF);
  let ended = false;

  /** Reads one more chunk into `buf`; false at the end of the body. */
  const more = async (): Promise<boolean> => {
    if (ended) return false;
    const { done, value } = await reader.read();
    if (done) {
      ended = true;
      return false;
    }
    total += value.byteLength;
    if (total > limits.maxBodyBytes) throw new PayloadTooLargeError(limits.maxBodyBytes);
    const chunk = Buffer.from(value.buffer, value.byteOffset, value.byteLength);
    buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
    return true;
  };

  try {
    // Preamble: anything before the first delimiter is ignored (RFC 2046), within reason.
    for (;;) {
      const at = buf.indexOf(delimiter);
      if (at >= 0) {
        buf = buf.subarray(at + delimiter.length);
        break;
      }
      if (total > 65_536) malformed("no boundary line in the first 64 KB (is the boundary parameter right?)");
      buf = buf.subarray(Math.max(0, buf.length - delimiter.length + 1));
      if (!(await more())) malformed("the body contains no boundary line");
    }

    for (let index = 1; ; index++) {
      // After a delimiter: "--" closes the body, otherwise optional blanks and a CRLF start a part.
      while (buf.length < 2) if (!(await more())) malformed("the body ended right after a boundary line, without the closing boundary");
      if (buf[0] === 0x2d && buf[1] === 0x2d) return;
      let eol: number;
      while ((eol = buf.indexOf(CRLF)) < 0) {
        if (buf.length > 256) malformed(`the boundary line before part ${index} does not end with CRLF`);
        if (!(await more())) malformed("the body ended inside a boundary line");
      }
      if (buf.subarray(0, eol).toString("latin1").trim() !== "") malformed(`the boundary line before part ${index} has text after the boundary`);
      buf = buf.subarray(eol + 2);
      if (index > maxParts) throw new AppError(413, "payload_too_large", `The form has more than ${maxParts} parts.`, { maxParts });

      // Part headers, up to the blank line.
      while (buf.length < 2) if (!(await more())) malformed(`the body ended inside part ${index}'s headers`);
      if (buf[0] === 0x0d && buf[1] === 0x0a) malformed(`part ${index} has no headers (a Content-Disposition header is needed)`);
      let headerEnd: number;
      while ((headerEnd = buf.indexOf(HEADER_END)) < 0) {
        if (buf.length > maxHeaderBytes) malformed(`part ${index}'s headers are longer than ${maxHeaderBytes} bytes`);
        if (!(await more())) malformed(`the body ended inside part ${index}'s headers`);
      }
      if (headerEnd > maxHeaderBytes) malformed(`part ${index}'s headers are longer than ${maxHeaderBytes} bytes`);
      const { field, filename } = parseHeaders(buf.subarray(0, headerEnd), index);
      buf = buf.subarray(headerEnd + HEADER_END.length);

      // Content, up to the next delimiter. Kept as views of the chunks read (no copy) until the part ends.
      const isFile = filename !== undefined;
      if (!isFile && limits.fileFields?.includes(field)) {
        throw new ValidationError(`Form field "${field}" must be a file, not text.`, [{ path: field, message: "must be a file" }]);
      }
      const limit = isFile ? limits.maxFileBytes : maxFieldBytes;
      const pieces: Buffer[] = [];
      let size = 0;
      for (;;) {
        const at = buf.indexOf(delimiter);
        const take = at >= 0 ? at : Math.max(0, buf.length - delimiter.length + 1);
        if (take > 0) {
          size += take;
          if (size > limit) {
            if (isFile) throw new PayloadTooLargeError(limit, filename);
            throw new AppError(413, "payload_too_large", `Form field "${field}" is longer than ${limit} bytes.`, { field, limitBytes: limit });
          }
          pieces.push(buf.subarray(0, take));
          buf = buf.subarray(take);
        }
        if (at >= 0) {
          buf = buf.subarray(delimiter.length);
          break;
        }
        if (!(await more())) malformed(`the body ended inside part ${index}${isFile ? ` (file ${filename})` : ""}, before its closing boundary — was the upload cut off?`);
      }
      if (isFile) {
        // One file's bytes in one piece (a copy only when it arrived in several chunks; the chunks go).
        const bytes = pieces.length === 1 ? pieces[0]! : Buffer.concat(pieces, size);
        pieces.length = 0;
        yield { field, filename, bytes: new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength) };
      }
    }
  } finally {
    // Whatever stopped the reading (an error, the caller giving up): a little more of the body is read
    // and dropped, so a client that is still sending its last bytes gets the answer instead of a broken
    // connection; a body that goes on beyond that is cut off.
    if (!ended) await drainThenCancel(reader);
  }
}

const DRAIN_BYTES = 1_000_000;
const DRAIN_MS = 2000;

async function drainThenCancel(reader: ReadableStreamDefaultReader<Uint8Array>): Promise<void> {
  let drained = 0;
  const deadline = Date.now() + DRAIN_MS;
  try {
    while (drained <= DRAIN_BYTES) {
      const left = deadline - Date.now();
      if (left <= 0) break;
      let timer: NodeJS.Timeout | undefined;
      const next = await Promise.race([reader.read(), new Promise<"late">((r) => (timer = setTimeout(() => r("late"), left)))]);
      clearTimeout(timer);
      if (next === "late") break;
      if (next.done) return;
      drained += next.value.byteLength;
    }
  } catch {
    return; // the body broke off: nothing left to read
  }
  await reader.cancel().catch(() => {});
}
