// Stacked bars per day (plain SVG, server-rendered): e.g. questions the wiki covered and did not cover.
export interface BarSeries {
  key: string;
  label: string;
  color: string;
}

const W = 640;
const H = 200;
const PAD = { left: 36, right: 8, top: 10, bottom: 26 };

export function DailyBars({
  title,
  days,
  series,
  testId,
}: {
  title: string;
  days: Array<{ day: string } & Record<string, number | string>>;
  series: BarSeries[];
  testId?: string;
}) {
  const total = (d: (typeof days)[number]) => series.reduce((s, x) => s + Number(d[x.key] ?? 0), 0);
  const max = Math.max(1, ...days.map(total));
  const slot = (W - PAD.left - PAD.right) / Math.max(1, days.length);
  const bar = Math.max(1, Math.min(28, slot * 0.7));
  const y = (v: number) => PAD.top + (H - PAD.top - PAD.bottom) * (1 - v / max);
  const labelEvery = Math.ceil(days.length / 8);
  return (
    <figure className="min-w-0 rounded-lg border border-zinc-200 p-3 dark:border-zinc-800">
      <figcaption className="mb-2 flex flex-wrap items-center gap-x-3 gap-y-1 text-sm font-medium">
        {title}
        {series.map((s) => (
          <span key={s.key} className="inline-flex items-center gap-1 text-xs font-normal text-zinc-500">
            <span className="inline-block h-2.5 w-2.5 rounded-sm" style={{ background: s.color }} /> {s.label}
          </span>
        ))}
      </figcaption>
      <svg viewBox={`0 0 ${W} ${H}`} role="img" aria-label={title} data-testid={testId} className="h-auto w-full">
        {[0, 0.5, 1].map((f) => (
          <g key={f}>
            <line x1={PAD.left} x2={W - PAD.right} y1={y(max * f)} y2={y(max * f)} stroke="currentColor" strokeOpacity={0.1} />
            <text x={PAD.left - 6} y={y(max * f) + 4} fontSize={11} textAnchor="end" fill="currentColor" opacity={0.6}>
              {Math.round(max * f)}
            </text>
          </g>
        ))}
        {days.map((d, i) => {
          const x = PAD.left + i * slot + (slot - bar) / 2;
          let base = 0;
          return (
            <g key={d.day} data-day={d.day}>
              {series.map((s) => {
                const v = Number(d[s.key] ?? 0);
                const rect = v > 0 ? <rect key={s.key} x={x} width={bar} y={y(base + v)} height={y(base) - y(base + v)} fill={s.color}><title>{`${d.day} · ${s.label}: ${v}`}</title></rect> : null;
                base += v;
                return rect;
              })}
              {i % labelEvery === 0 && (
                <text x={x + bar / 2} y={H - 8} fontSize={10} textAnchor="middle" fill="currentColor" opacity={0.6}>
                  {d.day.slice(5)}
                </text>
              )}
            </g>
          );
        })}
      </svg>
    </figure>
  );
}
