import { zipSync, strToU8 } from "fflate";
import { describe, expect, it } from "vitest";
import { AppError } from "@/lib/errors";
import { convertToMarkdown } from "@/lib/ingest/convert";
import { buildDocx, buildPdf } from "@/tests/fakes/documents";

const MAX = 1_000_000;
const utf8 = (s: string) => new TextEncoder().encode(s);

async function rejection(name: string, bytes: Uint8Array, max = MAX): Promise<AppError> {
  try {
    await convertToMarkdown(name, bytes, max);
  } catch (e) {
    expect(e).toBeInstanceOf(AppError);
    return e as AppError;
  }
  throw new Error(`${name} was accepted`);
}

describe("convertToMarkdown: every supported format", () => {
  it("markdown keeps its text and takes the title from the first H1", async () => {
    const r = await convertToMarkdown("guide.md", utf8("# Deploy guide\n\nRun `shipit`.\n"), MAX);
    expect(r).toMatchObject({ format: "md", title: "Deploy guide" });
    expect(r.markdown).toContain("Run `shipit`.");
  });

  it("text files use the file name as title", async () => {
    const r = await convertToMarkdown("on_call-notes.txt", utf8("\uFEFFPager rotates weekly."), MAX);
    expect(r).toMatchObject({ format: "txt", title: "on call notes", markdown: "Pager rotates weekly.\n" });
  });

  it("HTML becomes markdown with headings, tables and code; the <title> is the title", async () => {
    const html = `<!doctype html><html><head><title>VPN &amp; access</title><style>p{}</style></head><body>
      <h1>VPN</h1><p>Use <b>WireGuard</b>.</p>
      <table><thead><tr><th>Region</th><th>Endpoint</th></tr></thead><tbody><tr><td>EU</td><td>vpn-eu.corp</td></tr></tbody></table>
      <pre><code>wg-quick up corp</code></pre></body></html>`;
    const r = await convertToMarkdown("vpn.html", utf8(html), MAX);
    expect(r.title).toBe("VPN & access");
    expect(r.markdown).toContain("# VPN");
    expect(r.markdown).toContain("**WireGuard**");
    expect(r.markdown).toMatch(/\| Region \| Endpoint\s+\|\n\| -+ \| -+ \|\n\| EU\s+\| vpn-eu\.corp \|/);
    expect(r.markdown).toContain("wg-quick up corp");
    expect(r.markdown).not.toContain("p{}");
  });

  it("PDF text is extracted page by page, with the document title", async () => {
    const pdf = buildPdf([["Expense policy", "Meals up to 40 EUR per day."], ["Receipts within 30 days."]], "Expenses 2026");
    const r = await convertToMarkdown("expenses.pdf", pdf, MAX);
    expect(r.title).toBe("Expenses 2026");
    expect(r.markdown).toMatch(/## Page 1\n\nExpense policy\s+Meals up to 40 EUR per day\./);
    expect(r.markdown).toMatch(/## Page 2\n\nReceipts within 30 days\./);
  });

  it("DOCX headings, paragraphs and tables become markdown", async () => {
    const docx = buildDocx([
      { heading: "Travel policy" },
      { paragraph: "Book trains for trips under 500 km." },
      { table: [["Class", "Allowed"], ["Economy", "yes"]] },
    ]);
    const r = await convertToMarkdown("travel.docx", docx, MAX);
    expect(r.title).toBe("Travel policy");
    expect(r.markdown).toContain("# Travel policy");
    expect(r.markdown).toContain("Book trains for trips under 500 km.");
    expect(r.markdown).toMatch(/Economy\s*\|\s*yes/);
  });

  it("JSON becomes a readable nested list, titled by its title field", async () => {
    const r = await convertToMarkdown(
      "svc.json",
      utf8(JSON.stringify({ title: "Billing service", owners: ["ana", "raj"], slo: { availability: 99.9 } })),
      MAX,
    );
    expect(r.title).toBe("Billing service");
    expect(r.markdown).toContain("- **owners**:\n  - ana\n  - raj");
    expect(r.markdown).toContain("  - **availability**: 99.9");
  });
});

describe("convertToMarkdown: broken and unsupported files get a 4xx naming file and reason", () => {
  it("unsupported extension → 415", async () => {
    const e = await rejection("photo.png", utf8("x"));
    expect(e.status).toBe(415);
    expect(e.message).toContain("photo.png");
    expect(e.message).toContain("unsupported file type");
  });

  it("empty file → 422 'is empty'", async () => {
    const e = await rejection("empty.md", new Uint8Array());
    expect([e.status, e.message]).toEqual([422, "empty.md: is empty"]);
  });

  it("whitespace only → 422 'contains no text'", async () => {
    const e = await rejection("blank.txt", utf8("  \n\n "));
    expect([e.status, e.message]).toEqual([422, "blank.txt: contains no text"]);
  });

  it("too large → 413", async () => {
    const e = await rejection("big.md", utf8("a".repeat(101)), 100);
    expect(e.status).toBe(413);
    expect(e.message).toContain("big.md");
  });

  it("a PDF named .md is mislabelled", async () => {
    const e = await rejection("notes.md", buildPdf([["hi"]]));
    expect([e.status, e.message]).toEqual([422, "notes.md: is named .md but contains a PDF"]);
  });

  it("text named .pdf and text named .docx are mislabelled", async () => {
    expect((await rejection("a.pdf", utf8("hello"))).message).toBe("a.pdf: is named .pdf but contains plain text");
    expect((await rejection("a.docx", utf8("hello"))).message).toBe("a.docx: is named .docx but contains plain text");
  });

  it("a truncated PDF is corrupt", async () => {
    const pdf = buildPdf([["hello"]]);
    const e = await rejection("cut.pdf", pdf.subarray(0, 40));
    expect(e.status).toBe(422);
    expect(e.message).toMatch(/^cut\.pdf: is not a readable PDF/);
  });

  it("a ZIP that is not a Word document is corrupt", async () => {
    const zip = zipSync({ "hello.txt": strToU8("hi") });
    const e = await rejection("fake.docx", zip);
    expect(e.status).toBe(422);
    expect(e.message).toMatch(/^fake\.docx: is not a readable DOCX document/);
  });

  it("invalid JSON, invalid UTF-8, binary data", async () => {
    expect((await rejection("x.json", utf8("{nope"))).message).toMatch(/^x\.json: is not valid JSON/);
    expect((await rejection("x.txt", new Uint8Array([0x68, 0xff, 0xfe, 0x69]))).message).toBe("x.txt: is not valid UTF-8 text");
    expect((await rejection("x.md", new Uint8Array([1, 2, 0, 3]))).message).toBe("x.md: is named .md but contains binary data");
  });

  it("HTML without markup is rejected", async () => {
    expect((await rejection("x.html", utf8("just words"))).message).toBe("x.html: does not contain HTML markup");
  });
});
