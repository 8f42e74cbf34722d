import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { chunkMarkdown, parseSections } from "@/lib/ingest/chunker";
import { cutToBudget, estimateTokens } from "@/lib/ingest/tokens";

// Markdown documents built from realistic parts: headings, paragraphs, lists, tables, code fences.
const word = fc.stringMatching(/^[a-z]{1,12}$/);
const sentence = fc.array(word, { minLength: 1, maxLength: 30 }).map((w) => w.join(" ") + ".");
const paragraph = fc.array(sentence, { minLength: 1, maxLength: 12 }).map((s) => s.join(" "));
const heading = fc.tuple(fc.integer({ min: 1, max: 4 }), fc.array(word, { minLength: 1, maxLength: 5 })).map(
  ([lvl, w]) => `${"#".repeat(lvl)} ${w.join(" ")}`,
);
const list = fc.array(fc.array(word, { minLength: 1, maxLength: 15 }), { minLength: 1, maxLength: 20 }).map((items) =>
  items.map((i) => `- ${i.join(" ")}`).join("\n"),
);
const table = fc
  .tuple(fc.integer({ min: 2, max: 4 }), fc.integer({ min: 1, max: 60 }))
  .chain(([cols, rows]) =>
    fc.array(fc.array(word, { minLength: cols, maxLength: cols }), { minLength: rows, maxLength: rows }).map((cells) => {
      const head = `| ${Array.from({ length: cols }, (_, i) => `col${i}`).join(" | ")} |`;
      const sep = `| ${Array.from({ length: cols }, () => "---").join(" | ")} |`;
      return [head, sep, ...cells.map((r) => `| ${r.join(" | ")} |`)].join("\n");
    }),
  );
const code = fc.array(fc.array(word, { minLength: 1, maxLength: 8 }), { minLength: 1, maxLength: 80 }).map(
  (lines) => "```ts\n" + lines.map((l) => `${l.join("(")}();`).join("\n") + "\n```",
);
const doc = fc.array(fc.oneof(heading, paragraph, paragraph, list, table, code), { minLength: 1, maxLength: 15 }).map((b) => b.join("\n\n"));
const limit = fc.integer({ min: 100, max: 600 });

const wordsOf = (s: string) => s.match(/[a-z0-9]+/g) ?? [];

describe("chunkMarkdown properties", () => {
  it("never produces a chunk over the limit, counted on the embedded text", () => {
    fc.assert(
      fc.property(doc, limit, (md, maxTokens) => {
        for (const c of chunkMarkdown("Runbook", md, { maxTokens })) {
          expect(estimateTokens(c.embedText)).toBeLessThanOrEqual(maxTokens);
          expect(c.tokenCount).toBe(estimateTokens(c.embedText));
        }
      }),
      { numRuns: 60 },
    );
  });

  it("keeps every word of the page in some chunk, in order", () => {
    fc.assert(
      fc.property(doc, limit, (md, maxTokens) => {
        const chunks = chunkMarkdown("T", md, { maxTokens });
        const all = wordsOf(chunks.map((c) => c.text).join("\n"));
        const source = wordsOf(md);
        // Every source word appears, as a subsequence (table headers may repeat, nothing is dropped).
        let j = 0;
        for (const w of all) if (j < source.length && w === source[j]) j++;
        expect(j).toBe(source.length);
      }),
      { numRuns: 60 },
    );
  });

  it("keeps each heading with text and records the heading path", () => {
    fc.assert(
      fc.property(doc, limit, (md, maxTokens) => {
        const chunks = chunkMarkdown("T", md, { maxTokens });
        for (const c of chunks) {
          // A chunk is never only a heading when there is text after it in the document.
          const lines = c.text.split("\n").filter((l) => l.trim());
          const onlyHeadings = lines.every((l) => /^#{1,6} /.test(l));
          if (onlyHeadings) expect(c).toBe(chunks[chunks.length - 1]);
          expect(c.embedText.startsWith("T")).toBe(true);
          for (const h of c.headingPath) expect(c.embedText.split("\n")[0]).toContain(h);
        }
      }),
      { numRuns: 50 },
    );
  });

  it("never cuts a table row or a code block that fits", () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(paragraph, table, code), { minLength: 1, maxLength: 10 }), (blocks) => {
        const md = blocks.join("\n\n");
        const chunks = chunkMarkdown("T", md, { maxTokens: 450 });
        const text = chunks.map((c) => c.text);
        for (const b of blocks) {
          if (estimateTokens(b) + 100 > 450) continue; // too big for one chunk: cut by rows/lines (next test)
          expect(text.some((t) => t.includes(b))).toBe(true);
        }
        for (const t of text) {
          // Every table line in a chunk is a whole row; every code fence that opens also closes.
          for (const line of t.split("\n")) if (line.startsWith("|")) expect(line.trimEnd().endsWith("|")).toBe(true);
          expect((t.match(/^```/gm) ?? []).length % 2).toBe(0);
        }
      }),
      { numRuns: 50 },
    );
  });
});

describe("chunkMarkdown examples", () => {
  it("splits a long table between rows and repeats its header", () => {
    const rows = Array.from({ length: 200 }, (_, i) => `| svc-${i} | owner${i} | p${i % 4} |`);
    const md = `# Services\n\n| service | owner | priority |\n| --- | --- | --- |\n${rows.join("\n")}`;
    const chunks = chunkMarkdown("Catalog", md, { maxTokens: 200 });
    expect(chunks.length).toBeGreaterThan(3);
    for (const c of chunks) expect(c.text).toContain("| service | owner | priority |\n| --- | --- | --- |");
    const seen = chunks.flatMap((c) => c.text.split("\n").filter((l) => l.startsWith("| svc-")));
    expect(seen).toEqual(rows);
  });

  it("splits a long code block between lines, each part fenced", () => {
    const lines = Array.from({ length: 300 }, (_, i) => `  step_${i}(ctx, "arg ${i}");`);
    const md = "## Script\n\n```python\n" + lines.join("\n") + "\n```";
    const chunks = chunkMarkdown("Ops", md, { maxTokens: 200 });
    expect(chunks.length).toBeGreaterThan(3);
    for (const c of chunks) {
      const body = c.text.replace(/^## Script\n\n/, "");
      expect(body.startsWith("```python\n")).toBe(true);
      expect(body.endsWith("\n```")).toBe(true);
    }
  });

  it("merges a bare heading with its subsection and records paths and anchors", () => {
    const md = "# Deploys\n\n## Rollback\n\nRun `shipit rollback --to PREV`. ".repeat(1) + "\n\n## Freeze\n\n" + "Nothing ships on Fridays. ".repeat(100);
    const chunks = chunkMarkdown("Release guide", md);
    expect(chunks[0].text.startsWith("# Deploys\n\n## Rollback")).toBe(true);
    expect(chunks[0].headingPath).toEqual(["Deploys", "Rollback"]);
    expect(chunks[0].anchor).toBe("rollback");
    const freeze = chunks.find((c) => c.text.includes("## Freeze"))!;
    expect(freeze.headingPath).toEqual(["Deploys", "Freeze"]);
    expect(freeze.anchor).toBe("freeze");
    expect(freeze.embedText.startsWith("Release guide › Deploys › Freeze\n\n")).toBe(true);
  });

  it("hashes the embedded text: same content same hash, title change new hash", () => {
    const a = chunkMarkdown("A", "hello world");
    const b = chunkMarkdown("A", "hello world");
    const c = chunkMarkdown("B", "hello world");
    expect(a[0].contentHash).toBe(b[0].contentHash);
    expect(a[0].contentHash).not.toBe(c[0].contentHash);
  });

  it("handles empty documents and never exceeds the embedder context", () => {
    expect(chunkMarkdown("Empty", "")).toEqual([]);
    expect(chunkMarkdown("Blank", "\n\n  \n")).toEqual([]);
    const huge = "x".repeat(100_000);
    const chunks = chunkMarkdown("Blob", huge, { maxTokens: 99_999 });
    for (const c of chunks) expect(c.tokenCount).toBeLessThanOrEqual(2048);
  });

  it("does not treat # inside code fences as headings", () => {
    const sections = parseSections("# A\n\n```sh\n# not a heading\n```\n\ntext");
    expect(sections.map((s) => s.path)).toEqual([["A"]]);
  });
});

describe("token estimate", () => {
  it("cuts any text into parts within the budget that rejoin to the original", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 400 }), fc.integer({ min: 1, max: 50 }), (s, budget) => {
        const parts = cutToBudget(s, budget);
        expect(parts.join("")).toBe(s);
        for (const p of parts) expect(estimateTokens(p)).toBeLessThanOrEqual(budget);
      }),
    );
  });

  it("counts CJK per character and long words in pieces", () => {
    expect(estimateTokens("漢字かな")).toBe(4);
    expect(estimateTokens("internationalization")).toBe(3);
    expect(estimateTokens("a.b")).toBe(3);
  });
});

describe("estimateTokens", () => {
  // Letters, digits, accents and combining marks, CJK, emoji (surrogate pairs), punctuation, white space.
  const alphabet = [..."abcXYZ0189éßΩжع\u0301中文かなカナ한글😀𝔸.,;-_/()[]'\"!? \t\n\u00a0\u2003"];
  const mixed = fc.array(fc.constantFrom(...alphabet), { minLength: 1, maxLength: 200 }).map((cs) => cs.join(""));

  // The rule as a regular expression, the reference the character loop in lib/ingest/tokens.ts follows.
  const CJK = String.raw`\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}`;
  const PIECE = new RegExp(String.raw`[${CJK}]|(?:(?![${CJK}])[\p{L}\p{N}\p{M}]){1,8}|[^\s\p{L}\p{N}\p{M}]`, "gu");

  it("counts exactly the pieces cutToBudget cuts at, for any mix of scripts", () => {
    fc.assert(
      fc.property(mixed, (text) => {
        const pieces = estimateTokens(text);
        expect(pieces).toBe([...text.matchAll(PIECE)].length);
        if (/^\s*$/u.test(text)) return pieces === 0;
        expect(cutToBudget(text, 1)).toHaveLength(pieces);
        return true;
      }),
      { numRuns: 2000 },
    );
  });

  it("counts a run of letters per 8 characters, each symbol and CJK character as one, white space as none", () => {
    expect(estimateTokens("abcdefgh")).toBe(1);
    expect(estimateTokens("abcdefghi")).toBe(2);
    expect(estimateTokens("naïve café")).toBe(2);
    expect(estimateTokens("中文 ok!")).toBe(4);
    expect(estimateTokens("😀 \u00a0\t\n")).toBe(1);
  });
});
