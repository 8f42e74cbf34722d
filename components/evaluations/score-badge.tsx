/** A hallucination score (1–5) coloured against the 4.0 target. */
export function ScoreBadge({ value, target = 4 }: { value: number | null | undefined; target?: number }) {
  if (value === null || value === undefined) return <span className="text-zinc-400">–</span>;
  const cls = value >= target ? "bg-emerald-100 text-emerald-800 dark:bg-emerald-900/40 dark:text-emerald-300" : "bg-red-100 text-red-800 dark:bg-red-900/40 dark:text-red-300";
  return <span className={`rounded px-1.5 py-0.5 text-xs font-semibold ${cls}`}>{Number.isInteger(value) ? value : value.toFixed(2)}</span>;
}
