// The in-memory fusion the tuner scores configurations with: the statement's formula and tie-break, a
// candidate count as a cut of each stage's ranking, nDCG@10 by document, and the choice of the best.
import { describe, expect, it } from "vitest";
import { candidateGrid, fusedDocuments, ndcgAt10, pickBest, scoreConfig, tuneOver, weightsOfShare, type RankedQuestion } from "@/lib/retrieve/fusion-tuning";

const row = (chunkId: string, documentId: string, vectorRank: number | null, textRank: number | null) => ({ chunkId, documentId, vectorRank, textRank });
const question = (rows: RankedQuestion["rows"], relevant: string[]): RankedQuestion => ({ rows, relevant: (d) => relevant.includes(d), relevantCount: relevant.length });

describe("weighted fusion in memory", () => {
  // Vector ranks a, b, c; text ranks c, b, a.
  const q = question([row("1", "A", 1, 3), row("2", "B", 2, 2), row("3", "C", 3, 1)], ["C"]);

  it("equal weights are plain RRF, ties broken by chunk id as the SQL statement does", () => {
    // a: 1/61 + 1/63, b: 2/62, c: 1/63 + 1/61 → a and c tie above b; chunk id "1" < "3".
    expect(fusedDocuments(q, { vector: 1, text: 1, candidates: 50 })).toEqual(["A", "C", "B"]);
  });

  it("a zero weight leaves the other ranking's order", () => {
    expect(fusedDocuments(q, { vector: 0, text: 1, candidates: 50 })).toEqual(["C", "B", "A"]);
    expect(fusedDocuments(q, { vector: 1, text: 0, candidates: 50 })).toEqual(["A", "B", "C"]);
  });

  it("a candidate count cuts each stage's ranking: a chunk beyond it in both stages is gone", () => {
    const deep = question([row("1", "A", 1, null), row("2", "B", null, 1), row("3", "C", 7, 9)], ["C"]);
    expect(fusedDocuments(deep, { vector: 1, text: 1, candidates: 5 })).toEqual(["A", "B"]);
    expect(fusedDocuments(deep, { vector: 1, text: 1, candidates: 10 })).toContain("C");
  });

  it("counts a document once, at its best chunk", () => {
    const twice = question([row("1", "A", 1, 1), row("2", "A", 2, 2), row("3", "B", 3, 3)], ["B"]);
    expect(fusedDocuments(twice, { vector: 1, text: 1, candidates: 50 })).toEqual(["A", "B"]);
    expect(ndcgAt10(["A", "B"], twice)).toBeCloseTo(1 / Math.log2(3), 6);
  });

  it("weights of a share keep the larger one at 1", () => {
    expect(weightsOfShare(0.5)).toEqual({ vector: 1, text: 1 });
    expect(weightsOfShare(0.2)).toEqual({ vector: 0.25, text: 1 });
    expect(weightsOfShare(0.8)).toEqual({ vector: 1, text: 0.25 });
    expect(weightsOfShare(0)).toEqual({ vector: 0, text: 1 });
    expect(candidateGrid(50)).toEqual([25, 50, 100]);
    expect(candidateGrid(400)).toEqual([200, 400, 500]);
  });
});

describe("choosing the weights", () => {
  // The text ranking always puts the relevant document first; the vector ranking puts it last of five.
  const questions = Array.from({ length: 12 }, (_, i) =>
    question(
      ["R", "x1", "x2", "x3", "x4"].map((d, j) => row(`${i}-${j}`, `${d}${i}`, d === "R" ? 5 : j, j + 1)),
      [`R${i}`],
    ),
  );
  const current = { vector: 1, text: 1, candidates: 50 };

  it("learns to trust the ranking that finds the expected sources, and says so on held-out halves", () => {
    const r = tuneOver(questions, current, 3);
    expect(r.current.ndcg).toBeLessThan(1);
    expect(r.best.ndcg).toBe(1);
    expect(r.best.text).toBe(1);
    expect(r.best.vector).toBeLessThan(1);
    expect(r.heldOut.learned).toBe(1);
    expect(r.heldOut.current).toBe(r.current.ndcg);
    // 3 candidate counts × 11 shares.
    expect(r.configs).toHaveLength(33);
  });

  it("keeps the current weights when nothing does better", () => {
    const even = Array.from({ length: 4 }, (_, i) => question([row(`${i}`, `D${i}`, 1, 1)], [`D${i}`]));
    const scores = [0, 0.5, 1].map((s) => scoreConfig(even, { ...weightsOfShare(s), candidates: 50 }, 3));
    expect(pickBest(scores, current)).toMatchObject(current);
  });
});
