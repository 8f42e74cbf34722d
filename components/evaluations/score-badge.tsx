import { toneClass } from "@/components/ui/status-badge";

/** A hallucination score (1–5) coloured against the target score (pages pass the EVAL_ALERT_THRESHOLD setting). */
export function ScoreBadge({ value, target }: { value: number | null | undefined; /** The setting EVAL_ALERT_THRESHOLD. */ target: number }) {
  if (value === null || value === undefined) return <span className="text-zinc-400">–</span>;
  return (
    <span className={`rounded px-1.5 py-0.5 text-xs font-semibold ring-1 ring-inset ${toneClass(value >= target ? "success" : "danger")}`}>
      {Number.isInteger(value) ? value : value.toFixed(2)}
    </span>
  );
}
