// Hostile files get a 4xx naming the file and what was wrong, at bounded cost: zip bombs are stopped
// by the central directory or while inflating, slow and memory-hungry PDFs by the limits of the process
// that reads them — and the event loop keeps turning meanwhile.
import { describe, expect, it } from "vitest";
import { isAppError } from "@/lib/errors";
import { convertToMarkdown, type ConvertLimits } from "@/lib/ingest/convert";
import { buildDocx, buildPdf } from "@/tests/fakes/documents";
import { buildHungryPdf, buildManyEntriesDocx, buildSlowPdf, buildZipBombDocx } from "@/tests/fakes/hostile";

const MAX = 20_000_000;
const LIMITS: ConvertLimits = { maxEntries: 500, maxUnpackedBytes: 50_000_000, pdf: { timeoutMs: 60_000, maxMemoryMb: 1024 } };

async function rejection(name: string, bytes: Uint8Array, limits = LIMITS) {
  const err = await convertToMarkdown(name, bytes, MAX, limits).then(
    () => null,
    (e) => e,
  );
  expect(err, `${name} was accepted`).not.toBeNull();
  expect(isAppError(err), String(err)).toBe(true);
  return err as { status: number; message: string; details: Record<string, unknown> };
}

/** Counts event-loop turns while `work` runs: a blocked loop would count (almost) none. */
async function loopTurnsDuring<T>(work: Promise<T>): Promise<number> {
  let turns = 0;
  let stop = false;
  const tick = () => {
    turns++;
    if (!stop) setTimeout(tick, 5);
  };
  setTimeout(tick, 5);
  await work.catch(() => {});
  stop = true;
  return turns;
}

describe("DOCX (ZIP) limits", () => {
  it("a zip bomb whose directory tells the truth is refused from the directory alone: 413", async () => {
    const bomb = buildZipBombDocx(80_000_000); // 80 MB of zeros, under 100 KB packed
    expect(bomb.byteLength).toBeLessThan(100_000);
    const err = await rejection("report.docx", bomb);
    expect(err.status).toBe(413);
    expect(err.message).toBe("report.docx: unpacks to more than 50000000 bytes (the limit for the contents of a ZIP/Office file)");
  });

  it("a zip bomb that lies about its size is stopped while inflating: 422 naming the entry", async () => {
    const bomb = buildZipBombDocx(80_000_000, { lieAboutSize: 1000 });
    const err = await rejection("report.docx", bomb);
    expect(err.status).toBe(422);
    expect(err.message).toMatch(/^report\.docx: is not a readable ZIP\/Office file \(word\/media\/image1\.bin unpacks to more than the 1000 bytes its directory entry declares\)$/);
  });

  it("too many entries: 413 before anything is unpacked", async () => {
    const err = await rejection("parts.docx", buildManyEntriesDocx(800));
    expect(err.status).toBe(413);
    expect(err.message).toMatch(/^parts\.docx: has \d+ entries, more than the limit of 500$/);
  });

  it("an ordinary DOCX, and one just under the limits, still convert", async () => {
    const docx = buildDocx([{ heading: "Travel" }, { paragraph: "Book trains." }]);
    expect((await convertToMarkdown("travel.docx", docx, MAX, LIMITS)).markdown).toContain("Book trains.");
    const padded = buildZipBombDocx(40_000_000);
    expect((await convertToMarkdown("padded.docx", padded, MAX, LIMITS)).markdown).toContain("Nothing to see here.");
  });
});

describe("PDF text extraction in a process of its own", () => {
  it("a PDF that takes too long is stopped at the time limit: 422, and the event loop kept turning", async () => {
    const pdf = buildSlowPdf(3_000_000);
    expect(pdf.byteLength).toBeLessThan(1_000_000);
    const limits = { ...LIMITS, pdf: { timeoutMs: 1500, maxMemoryMb: 4096 } };
    const work = rejection("slow.pdf", pdf, limits);
    const turns = await loopTurnsDuring(work);
    const err = await work;
    expect(err.status).toBe(422);
    expect(err.message).toBe("slow.pdf: took longer than 1500 ms to read, the limit for a PDF; it was stopped");
    expect(turns).toBeGreaterThan(10);
  });

  it("a PDF that needs too much memory is stopped at the memory limit: 422", async () => {
    const limits = { ...LIMITS, pdf: { timeoutMs: 120_000, maxMemoryMb: 48 } };
    const pdf = buildHungryPdf(200_000_000);
    expect(pdf.byteLength).toBeLessThan(1_000_000);
    const err = await rejection("hungry.pdf", pdf, limits);
    expect(err.status).toBe(422);
    expect(err.message).toBe("hungry.pdf: needs more than 48 MB to read, the limit for a PDF; it was stopped");
  });

  it("ordinary PDFs are read as before, several at once", async () => {
    const pdfs = Array.from({ length: 4 }, (_, i) => buildPdf([[`Page one of document ${i}`], ["Page two"]], `Doc ${i}`));
    const out = await Promise.all(pdfs.map((p, i) => convertToMarkdown(`d${i}.pdf`, p, MAX, LIMITS)));
    out.forEach((r, i) => {
      expect(r.title).toBe(`Doc ${i}`);
      expect(r.markdown).toContain(`## Page 1\n\nPage one of document ${i}`);
    });
  });
});
