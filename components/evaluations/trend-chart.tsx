// Average hallucination score per run over time, with the target line (EVAL_ALERT_THRESHOLD). Plain SVG, server-rendered.
import type { TrendPoint } from "@/lib/evaluate/types";

const W = 640;
const H = 220;
const PAD = { left: 36, right: 12, top: 12, bottom: 28 };

export function TrendChart({ points, target }: { points: TrendPoint[]; /** The setting EVAL_ALERT_THRESHOLD. */ target: number }) {
  const x = (i: number) => PAD.left + (points.length <= 1 ? (W - PAD.left - PAD.right) / 2 : (i * (W - PAD.left - PAD.right)) / (points.length - 1));
  const y = (v: number) => PAD.top + ((5 - v) * (H - PAD.top - PAD.bottom)) / 4; // 1..5 scale
  const path = points.map((p, i) => `${i === 0 ? "M" : "L"}${x(i).toFixed(1)},${y(p.avg).toFixed(1)}`).join(" ");
  return (
    <figure className="rounded-lg border border-zinc-200 p-3 dark:border-zinc-800">
      <figcaption className="mb-2 text-sm font-medium">Average hallucination score per run (target {target.toFixed(1)})</figcaption>
      {points.length === 0 ? (
        <p className="text-sm text-zinc-500">No completed runs yet.</p>
      ) : (
        <svg viewBox={`0 0 ${W} ${H}`} role="img" aria-label="Trend of average hallucination score per run" data-testid="trend-chart" className="h-auto w-full">
          {[1, 2, 3, 4, 5].map((v) => (
            <g key={v}>
              <line x1={PAD.left} x2={W - PAD.right} y1={y(v)} y2={y(v)} stroke="currentColor" strokeOpacity={0.1} />
              <text x={PAD.left - 8} y={y(v) + 4} fontSize={11} textAnchor="end" fill="currentColor" opacity={0.6}>
                {v}
              </text>
            </g>
          ))}
          <line data-testid="trend-target" x1={PAD.left} x2={W - PAD.right} y1={y(target)} y2={y(target)} stroke="#dc2626" strokeDasharray="6 4" />
          <text x={W - PAD.right} y={y(target) - 4} fontSize={11} textAnchor="end" fill="#dc2626">
            target {target.toFixed(1)}
          </text>
          <path d={path} fill="none" stroke="#2563eb" strokeWidth={2} />
          {points.map((p, i) => (
            <a key={p.id} href={`/evaluations/runs/${p.id}`}>
              <circle data-testid="trend-point" cx={x(i)} cy={y(p.avg)} r={4} fill={p.avg < target ? "#dc2626" : "#2563eb"}>
                <title>{`${p.dataset} · ${new Date(p.at).toISOString().slice(0, 16).replace("T", " ")} · ${p.avg.toFixed(2)}`}</title>
              </circle>
            </a>
          ))}
          <text x={PAD.left} y={H - 8} fontSize={11} fill="currentColor" opacity={0.6}>
            {new Date(points[0]!.at).toISOString().slice(0, 10)}
          </text>
          <text x={W - PAD.right} y={H - 8} fontSize={11} textAnchor="end" fill="currentColor" opacity={0.6}>
            {new Date(points.at(-1)!.at).toISOString().slice(0, 10)}
          </text>
        </svg>
      )}
    </figure>
  );
}
