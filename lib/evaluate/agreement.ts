// Judge-versus-human agreement over answers both scored. Pure: callers bring the pairs.
//
// Weighted Cohen's kappa uses QUADRATIC weights on the 1–5 scale (disagreement weight (i−j)²/16): a
// 5-vs-1 disagreement costs sixteen times a 5-vs-4 one, which matches how far apart the scores really
// are. Kappa is undefined when chance disagreement is zero (both raters used one and the same category
// for every item); we return null then rather than NaN.

export interface ScorePair {
  /** What was scored (a query log, run item or external output id). */
  itemId: string;
  judge: number;
  human: number;
  /** Short text for the "most disagreeing" list (the question). */
  label?: string;
}

export interface Agreement {
  n: number;
  weightedKappa: number | null;
  exact: number | null;
  withinOne: number | null;
  meanAbsoluteError: number | null;
  mostDisagreeing: Array<ScorePair & { difference: number }>;
}

const K = 5; // categories 1..5

function toCategory(v: number): number {
  // Judge scores are integers by the scoring rule; humans enter integers. Round defensively and clamp.
  return Math.min(K, Math.max(1, Math.round(v)));
}

/** Quadratic-weighted Cohen's kappa for two raters on the 1–5 scale; null when undefined. */
export function weightedKappa(pairs: ReadonlyArray<{ judge: number; human: number }>): number | null {
  const n = pairs.length;
  if (n === 0) return null;
  const observed = Array.from({ length: K }, () => new Array<number>(K).fill(0));
  const rowSum = new Array<number>(K).fill(0);
  const colSum = new Array<number>(K).fill(0);
  for (const p of pairs) {
    const i = toCategory(p.judge) - 1;
    const j = toCategory(p.human) - 1;
    observed[i]![j]! += 1;
    rowSum[i]! += 1;
    colSum[j]! += 1;
  }
  let obs = 0;
  let exp = 0;
  for (let i = 0; i < K; i++) {
    for (let j = 0; j < K; j++) {
      const w = ((i - j) * (i - j)) / ((K - 1) * (K - 1));
      obs += (w * observed[i]![j]!) / n;
      exp += (w * rowSum[i]! * colSum[j]!) / (n * n);
    }
  }
  if (exp === 0) return null;
  return 1 - obs / exp;
}

export function computeAgreement(pairs: readonly ScorePair[], opts: { top?: number } = {}): Agreement {
  const n = pairs.length;
  if (n === 0) {
    return { n: 0, weightedKappa: null, exact: null, withinOne: null, meanAbsoluteError: null, mostDisagreeing: [] };
  }
  const diffs = pairs.map((p) => Math.abs(p.judge - p.human));
  const top = opts.top ?? 10;
  const mostDisagreeing = pairs
    .map((p, i) => ({ ...p, difference: diffs[i]! }))
    .filter((p) => p.difference > 0)
    // Largest gap first; ties in a stable, input-independent order so the list does not shuffle.
    .sort((a, b) => b.difference - a.difference || a.itemId.localeCompare(b.itemId))
    .slice(0, top);
  return {
    n,
    weightedKappa: weightedKappa(pairs),
    exact: diffs.filter((d) => d === 0).length / n,
    withinOne: diffs.filter((d) => d <= 1).length / n,
    meanAbsoluteError: diffs.reduce((a, b) => a + b, 0) / n,
    mostDisagreeing,
  };
}
