import { describe, expect, it } from "vitest";
import { buildJudgeMessages, judgeJsonSchema, parseJudgeOutput } from "@/lib/evaluate/judge-prompt";

const opts = { maxClaims: 3, passageCount: 2, withReference: false };
const claim = (over: Record<string, unknown> = {}) => ({
  claim: "Backups run nightly.",
  verdict: "supported",
  passage: 1,
  reason: "Passage 1 says so.",
  relevant: true,
  ...over,
});

describe("judge output parsing", () => {
  it("accepts valid output (also inside a Markdown fence)", () => {
    const raw = JSON.stringify({ claims: [claim()] });
    const a = parseJudgeOutput(raw, opts);
    expect(a).toEqual({
      ok: true,
      claims: [{ claim: "Backups run nightly.", verdict: "supported", passage: 1, reason: "Passage 1 says so.", relevant: true }],
      referenceClaims: null,
      truncated: false,
    });
    expect(parseJudgeOutput("```json\n" + raw + "\n```", opts)).toEqual(a);
  });

  it("rejects text that is not JSON, and names the problem", () => {
    const r = parseJudgeOutput('{"claims": [', opts);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.problem).toMatch(/not JSON/);
  });

  it("rejects an unknown verdict, naming the field", () => {
    const r = parseJudgeOutput(JSON.stringify({ claims: [claim({ verdict: "maybe" })] }), opts);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.problem).toMatch(/^claims\.0\.verdict/);
  });

  it("rejects a missing claims array", () => {
    const r = parseJudgeOutput(JSON.stringify({ verdicts: [] }), opts);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.problem).toMatch(/^claims/);
  });

  it("caps the number of claims and drops passage numbers that do not exist", () => {
    const raw = JSON.stringify({ claims: [claim({ passage: 7 }), claim(), claim(), claim({ claim: "fourth" })] });
    const r = parseJudgeOutput(raw, opts);
    expect(r.ok).toBe(true);
    if (r.ok) {
      expect(r.claims).toHaveLength(3);
      expect(r.claims[0]!.passage).toBeNull();
      expect(r.truncated).toBe(true);
    }
  });

  it("requires reference claims when a reference was given", () => {
    const withRef = { ...opts, withReference: true };
    expect(parseJudgeOutput(JSON.stringify({ claims: [] }), withRef).ok).toBe(false);
    const r = parseJudgeOutput(
      JSON.stringify({ claims: [], reference_claims: [{ claim: "x", in_sources: false, passage: null, reason: "" }] }),
      withRef,
    );
    expect(r).toMatchObject({ ok: true, referenceClaims: [{ claim: "x", inSources: false, passage: null }] });
  });
});

describe("judge prompt", () => {
  it("numbers passages, delimits output and reference, and asks for the reference claims only with a reference", () => {
    const a = buildJudgeMessages({ question: "Q?", output: "Out.", passages: [{ text: "P1" }, { text: "P2", title: "T" }] }, 5);
    expect(a.messages[1]!.content).toContain("<passage n=1>\nP1\n</passage>");
    expect(a.messages[1]!.content).toContain('<passage n=2 title="T">');
    expect(a.messages[1]!.content).toContain("<output>\nOut.\n</output>");
    expect(a.messages[1]!.content).not.toContain("<reference>");
    expect(a.withReference).toBe(false);
    expect(a.schema).toEqual(judgeJsonSchema(5, false));
    expect((a.schema.required as string[])).toEqual(["claims"]);
    const b = buildJudgeMessages({ question: "Q?", output: "Out.", passages: [], reference: "Ref." }, 5);
    expect(b.messages[1]!.content).toContain("<reference>\nRef.\n</reference>");
    expect((b.schema.required as string[])).toEqual(["claims", "reference_claims"]);
    expect(b.messages[0]!.content).toContain("at most 5");
  });
});
