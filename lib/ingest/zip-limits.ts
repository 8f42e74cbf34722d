// Limits for ZIP containers (DOCX) before a parser unpacks them: a 40 KB "zip bomb" can unpack to
// gigabytes. Two checks, both before the document parser sees the file:
//   1. the central directory (the table of contents at the end of the file) is read without unpacking
//      anything: too many entries, or declared sizes adding up to more than the limit, are refused;
//   2. every entry is then inflated as a stream (zlib, off the event loop) and its bytes are counted
//      and thrown away: an entry that unpacks to more than it declared, or a total over the limit,
//      stops the inflation at once. So a lying directory cannot get past the limit either.
// Only what passed both reaches the parser.
import { createInflateRaw } from "node:zlib";
import { AppError, UnprocessableError } from "../errors";

export interface ZipLimits {
  /** Entries (files and folders) in the archive. */
  maxEntries: number;
  /** Sum of the entries' unpacked sizes. */
  maxUnpackedBytes: number;
}

interface Entry {
  name: string;
  method: number;
  compressedSize: number;
  size: number;
  localHeaderOffset: number;
}

const EOCD = 0x06054b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;

function corrupt(filename: string, reason: string): never {
  throw new UnprocessableError(`${filename}: is not a readable ZIP/Office file (${reason})`, { file: filename, reason });
}

function tooLarge(filename: string, reason: string, limits: ZipLimits): never {
  throw new AppError(413, "payload_too_large", `${filename}: ${reason}`, { file: filename, reason, ...limits });
}

/** The central directory's entries, read without unpacking anything. */
export function zipEntries(filename: string, bytes: Uint8Array, limits: ZipLimits): Entry[] {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  // The end-of-central-directory record: 22 bytes plus a comment of up to 65535 bytes, at the end.
  let eocd = -1;
  for (let i = buf.length - 22; i >= Math.max(0, buf.length - 22 - 65_535); i--) {
    if (buf.readUInt32LE(i) === EOCD) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) corrupt(filename, "no central directory");
  const count = buf.readUInt16LE(eocd + 10);
  const dirSize = buf.readUInt32LE(eocd + 12);
  const dirOffset = buf.readUInt32LE(eocd + 16);
  if (count === 0xffff || dirSize === 0xffffffff || dirOffset === 0xffffffff) {
    tooLarge(filename, "is a ZIP64 archive (over 65535 entries or 4 GB), which uploads do not accept", limits);
  }
  if (count > limits.maxEntries) tooLarge(filename, `has ${count} entries, more than the limit of ${limits.maxEntries}`, limits);
  if (dirOffset + dirSize > eocd) corrupt(filename, "the central directory lies outside the file");

  const entries: Entry[] = [];
  let declared = 0;
  let p = dirOffset;
  for (let n = 0; n < count; n++) {
    if (p + 46 > eocd || buf.readUInt32LE(p) !== CENTRAL) corrupt(filename, `central directory entry ${n + 1} is damaged`);
    const nameLength = buf.readUInt16LE(p + 28);
    const entry: Entry = {
      method: buf.readUInt16LE(p + 10),
      compressedSize: buf.readUInt32LE(p + 20),
      size: buf.readUInt32LE(p + 24),
      localHeaderOffset: buf.readUInt32LE(p + 42),
      name: buf.toString("utf8", p + 46, p + 46 + nameLength),
    };
    if (entry.size === 0xffffffff || entry.compressedSize === 0xffffffff || entry.localHeaderOffset === 0xffffffff) {
      tooLarge(filename, "contains a ZIP64 entry (over 4 GB), which uploads do not accept", limits);
    }
    declared += entry.size;
    if (declared > limits.maxUnpackedBytes) {
      tooLarge(filename, `unpacks to more than ${limits.maxUnpackedBytes} bytes (the limit for the contents of a ZIP/Office file)`, limits);
    }
    entries.push(entry);
    p += 46 + nameLength + buf.readUInt16LE(p + 30) + buf.readUInt16LE(p + 32);
  }
  return entries;
}

/** Inflates `data` as a stream, counting; rejects as soon as it passes `max` bytes. */
function inflatedSize(data: Buffer, max: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const inflate = createInflateRaw();
    let size = 0;
    let settled = false;
    inflate.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > max && !settled) {
        settled = true;
        inflate.destroy();
        resolve(size);
      }
    });
    inflate.on("end", () => !settled && ((settled = true), resolve(size)));
    inflate.on("error", (err) => !settled && ((settled = true), reject(err)));
    inflate.end(data);
  });
}

/**
 * Checks a ZIP container against the limits (see the top of this file): 413 naming the file when it
 * has too many entries or unpacks to too much, 422 when it is damaged. Unpacked bytes are counted and
 * discarded: at most one zlib window is in memory at a time.
 */
export async function assertZipWithinLimits(filename: string, bytes: Uint8Array, limits: ZipLimits): Promise<void> {
  const entries = zipEntries(filename, bytes, limits);
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let total = 0;
  for (const e of entries) {
    const at = e.localHeaderOffset;
    if (at + 30 > buf.length || buf.readUInt32LE(at) !== LOCAL) corrupt(filename, `the local header of ${e.name} is damaged`);
    const start = at + 30 + buf.readUInt16LE(at + 26) + buf.readUInt16LE(at + 28);
    const end = start + e.compressedSize;
    if (end > buf.length) corrupt(filename, `${e.name} runs past the end of the file`);
    let size: number;
    if (e.method === 0) size = e.compressedSize;
    else if (e.method === 8) {
      // Never more than the entry declared, and never past the total limit.
      const allowed = Math.min(e.size, limits.maxUnpackedBytes - total);
      try {
        size = await inflatedSize(buf.subarray(start, end), allowed);
      } catch (err) {
        corrupt(filename, `${e.name} does not inflate (${(err as Error).message})`);
      }
      if (size > e.size) {
        if (total + size > limits.maxUnpackedBytes) {
          tooLarge(filename, `unpacks to more than ${limits.maxUnpackedBytes} bytes (the limit for the contents of a ZIP/Office file)`, limits);
        }
        corrupt(filename, `${e.name} unpacks to more than the ${e.size} bytes its directory entry declares`);
      }
    } else corrupt(filename, `${e.name} uses compression method ${e.method}, which is not supported`);
    total += size;
    if (total > limits.maxUnpackedBytes) {
      tooLarge(filename, `unpacks to more than ${limits.maxUnpackedBytes} bytes (the limit for the contents of a ZIP/Office file)`, limits);
    }
  }
}
