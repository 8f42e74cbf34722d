import { describe, expect, it } from "vitest";
import { computeMetrics, type JudgedClaim, type Verdict } from "@/lib/evaluate/scoring-rule";

const claims = (...verdicts: Array<Verdict | [Verdict, boolean]>): JudgedClaim[] =>
  verdicts.map((v, i) => {
    const [verdict, relevant] = Array.isArray(v) ? v : [v, true];
    return { claim: `claim ${i}`, verdict, passage: verdict === "not_found" ? null : 1, reason: "r", relevant };
  });

describe("scoring rule", () => {
  it("gives 5 and faithfulness 1 when every claim is supported", () => {
    const m = computeMetrics(claims("supported", "supported", "supported"));
    expect(m.hallucinationScore).toBe(5);
    expect(m.faithfulness).toBe(1);
    expect(m.answerRelevance).toBe(1);
    expect(m.counts).toEqual({ total: 3, supported: 3, contradicted: 0, notFound: 0 });
  });

  it("puts load exactly on each boundary on the lenient side (1/4 → 4, 2/4 → 3, 3/4 → 2)", () => {
    // 1 not found of 4: u = 1/4 → 4
    expect(computeMetrics(claims("supported", "supported", "supported", "not_found")).hallucinationScore).toBe(4);
    // 2 of 4: u = 1/2 → 3
    expect(computeMetrics(claims("supported", "supported", "not_found", "not_found")).hallucinationScore).toBe(3);
    // 3 of 4: u = 3/4 → 2
    expect(computeMetrics(claims("supported", "not_found", "not_found", "not_found")).hallucinationScore).toBe(2);
    // 4 of 4: u = 1 → 1
    expect(computeMetrics(claims("not_found", "not_found", "not_found", "not_found")).hallucinationScore).toBe(1);
  });

  it("just past a boundary drops a step (2 of 7 not found: u = 0.286 → 3)", () => {
    const m = computeMetrics(claims("supported", "supported", "supported", "supported", "supported", "not_found", "not_found"));
    expect(m.hallucinationScore).toBe(3);
    expect(m.faithfulness).toBeCloseTo(5 / 7, 12);
  });

  it("weighs a contradiction twice and caps any contradicted output at 3", () => {
    // 1 contradicted of 10: u = 2/10 ≤ 1/4 would be 4, but the cap makes it 3.
    const ten = claims("contradicted", ...Array<Verdict>(9).fill("supported"));
    const m = computeMetrics(ten);
    expect(m.hallucinationScore).toBe(3);
    expect(m.faithfulness).toBeCloseTo(0.9, 12);
    // 1 contradicted of 3: u = 2/3 → 2 (below the cap anyway).
    expect(computeMetrics(claims("contradicted", "supported", "supported")).hallucinationScore).toBe(2);
    // 1 contradicted + 1 not found of 4: u = 3/4 → 2; 2 contradicted of 4: u = 1 → 1.
    expect(computeMetrics(claims("contradicted", "not_found", "supported", "supported")).hallucinationScore).toBe(2);
    expect(computeMetrics(claims("contradicted", "contradicted", "supported", "supported")).hallucinationScore).toBe(1);
  });

  it("answer relevance is the share of relevant claims", () => {
    const m = computeMetrics(claims(["supported", true], ["supported", false], ["not_found", false], ["supported", true]));
    expect(m.answerRelevance).toBe(0.5);
    expect(m.hallucinationScore).toBe(4);
  });

  it("an output with no factual claims gets a defined result, never NaN", () => {
    const m = computeMetrics([]);
    expect(m).toEqual({
      hallucinationScore: 5,
      faithfulness: 1,
      answerRelevance: null,
      contextRecall: null,
      counts: { total: 0, supported: 0, contradicted: 0, notFound: 0 },
      noClaims: true,
    });
  });

  it("context recall is the share of reference claims found in the sources; null without a reference", () => {
    const ref = [true, true, false].map((inSources, i) => ({ claim: `r${i}`, inSources, passage: null, reason: "" }));
    expect(computeMetrics(claims("supported"), ref).contextRecall).toBeCloseTo(2 / 3, 12);
    expect(computeMetrics(claims("supported"), null).contextRecall).toBeNull();
    expect(computeMetrics(claims("supported"), []).contextRecall).toBeNull();
  });
});
