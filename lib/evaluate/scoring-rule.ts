// The scoring rule: from the judge's claim verdicts to the numbers we report. Pure and documented in the
// README ("Scoring rule"), because a score nobody can recompute by hand is a score nobody trusts.
//
// Integer arithmetic is used for the thresholds so a ratio that sits exactly on a boundary (1/4, 2/4, 3/4)
// always lands on the same side, whatever floating point would have said.

export const VERDICTS = ["supported", "contradicted", "not_found"] as const;
export type Verdict = (typeof VERDICTS)[number];

export interface JudgedClaim {
  claim: string;
  verdict: Verdict;
  /** 1-based number of the passage the judge cites, or null. */
  passage: number | null;
  reason: string;
  /** Whether the claim bears on the question (feeds answer relevance). */
  relevant: boolean;
}

export interface ReferenceClaim {
  claim: string;
  /** Whether the sources contain this claim of the reference answer (feeds context recall). */
  inSources: boolean;
  passage: number | null;
  reason: string;
}

export interface Metrics {
  /** 1–5, higher is more faithful. Always an integer. */
  hallucinationScore: number;
  /** supported / claims, in [0, 1]. */
  faithfulness: number;
  /** relevant claims / claims; null when the output makes no factual claim. */
  answerRelevance: number | null;
  /** reference claims found in the sources / reference claims; null without a reference (or an empty one). */
  contextRecall: number | null;
  counts: { total: number; supported: number; contradicted: number; notFound: number };
  /** The output made no factual claim: nothing can be unfaithful, so score 5 and faithfulness 1 by definition. */
  noClaims: boolean;
}

/**
 * The rule:
 *  - n claims, S supported, C contradicted, N not found in the sources.
 *  - faithfulness = S / n.
 *  - unsupported load u = (N + 2·C) / n — a contradiction weighs twice a claim the sources do not mention.
 *  - score 5 when u = 0; 4 when u ≤ 1/4; 3 when u ≤ 1/2; 2 when u ≤ 3/4; 1 otherwise.
 *  - any contradicted claim caps the score at 3 (stating the opposite of the wiki is never "mostly fine").
 *  - no claims at all: score 5, faithfulness 1, answer relevance null (nothing to judge), flagged noClaims.
 *  - answer relevance = relevant claims / n; context recall = reference claims in sources / reference claims.
 */
export function computeMetrics(claims: readonly JudgedClaim[], referenceClaims: readonly ReferenceClaim[] | null = null): Metrics {
  const n = claims.length;
  const supported = claims.filter((c) => c.verdict === "supported").length;
  const contradicted = claims.filter((c) => c.verdict === "contradicted").length;
  const notFound = claims.filter((c) => c.verdict === "not_found").length;
  const counts = { total: n, supported, contradicted, notFound };
  const contextRecall =
    referenceClaims && referenceClaims.length > 0
      ? referenceClaims.filter((c) => c.inSources).length / referenceClaims.length
      : null;

  if (n === 0) {
    return { hallucinationScore: 5, faithfulness: 1, answerRelevance: null, contextRecall, counts, noClaims: true };
  }

  const load = notFound + 2 * contradicted; // u = load / n
  let score: number;
  if (load === 0) score = 5;
  else if (4 * load <= n) score = 4;
  else if (2 * load <= n) score = 3;
  else if (4 * load <= 3 * n) score = 2;
  else score = 1;
  if (contradicted > 0) score = Math.min(score, 3);

  return {
    hallucinationScore: score,
    faithfulness: supported / n,
    answerRelevance: claims.filter((c) => c.relevant).length / n,
    contextRecall,
    counts,
    noClaims: false,
  };
}
