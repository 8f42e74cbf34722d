import { describe, expect, it } from "vitest";
import { computeAgreement, weightedKappa } from "@/lib/evaluate/agreement";

describe("agreement statistics (values computed by hand)", () => {
  it("judge [5,4,3,5] vs human [5,5,3,4]: kappa 7/11, exact 1/2, within one 1, MAE 1/2", () => {
    // Disagreement weights (i−j)²/16. Observed: two pairs differ by 1 → (1/16 + 1/16)/4 = 1/32.
    // Both raters' marginals are {3: 1/4, 4: 1/4, 5: 1/2}. Expected:
    //   2·(1/4·1/4·1) + 2·(1/4·1/2·4) + 2·(1/4·1/2·1) = 0.125 + 1 + 0.25 = 1.375, /16 = 11/128.
    // kappa = 1 − (1/32)/(11/128) = 1 − 4/11 = 7/11.
    const pairs = [
      { itemId: "a", judge: 5, human: 5 },
      { itemId: "b", judge: 4, human: 5 },
      { itemId: "c", judge: 3, human: 3 },
      { itemId: "d", judge: 5, human: 4 },
    ];
    const a = computeAgreement(pairs);
    expect(a.n).toBe(4);
    expect(a.weightedKappa).toBeCloseTo(7 / 11, 12);
    expect(a.exact).toBe(0.5);
    expect(a.withinOne).toBe(1);
    expect(a.meanAbsoluteError).toBe(0.5);
    expect(a.mostDisagreeing.map((p) => p.itemId)).toEqual(["b", "d"]);
  });

  it("judge [1,5] vs human [5,1] is perfectly opposed: kappa −1, MAE 4", () => {
    // Observed: both pairs weight 16/16 = 1 → 1. Marginals {1: 1/2, 5: 1/2} each.
    // Expected: (1,5) and (5,1) each 1/4·1 → 1/2. kappa = 1 − 1/(1/2) = −1.
    const a = computeAgreement([
      { itemId: "x", judge: 1, human: 5 },
      { itemId: "y", judge: 5, human: 1 },
    ]);
    expect(a.weightedKappa).toBeCloseTo(-1, 12);
    expect(a.exact).toBe(0);
    expect(a.withinOne).toBe(0);
    expect(a.meanAbsoluteError).toBe(4);
  });

  it("judge [2,3,4] vs human [1,3,5]: kappa 4/5, lists the biggest gaps first", () => {
    // Observed weights: (2,1) 1/16, (3,3) 0, (4,5) 1/16 → (2/16)/3 = 1/24.
    // Marginals judge {2,3,4} each 1/3, human {1,3,5} each 1/3, so each of the 9 cells has 1/9:
    //   Σ (i−j)² over i∈{2,3,4}, j∈{1,3,5} = (1+1+9)+(4+0+4)+(9+1+1) = 30 → 30/9/16 = 30/144 = 5/24.
    // kappa = 1 − (1/24)/(5/24) = 4/5.
    const a = computeAgreement([
      { itemId: "p", judge: 2, human: 1, label: "q1" },
      { itemId: "q", judge: 3, human: 3 },
      { itemId: "r", judge: 4, human: 5 },
    ]);
    expect(a.weightedKappa).toBeCloseTo(0.8, 12);
    expect(a.meanAbsoluteError).toBeCloseTo(2 / 3, 12);
    expect(a.mostDisagreeing).toEqual([
      { itemId: "p", judge: 2, human: 1, label: "q1", difference: 1 },
      { itemId: "r", judge: 4, human: 5, difference: 1 },
    ]);
  });

  it("perfect agreement over several categories gives kappa 1; one category for everything is undefined (null)", () => {
    expect(weightedKappa([{ judge: 2, human: 2 }, { judge: 5, human: 5 }])).toBe(1);
    expect(weightedKappa([{ judge: 4, human: 4 }, { judge: 4, human: 4 }])).toBeNull();
  });

  it("no pairs: every figure is null, not NaN", () => {
    expect(computeAgreement([])).toEqual({
      n: 0,
      weightedKappa: null,
      exact: null,
      withinOne: null,
      meanAbsoluteError: null,
      mostDisagreeing: [],
    });
  });
});
