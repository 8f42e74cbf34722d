// Stacked bars per category (e.g. per day, stacked by model or by outcome): plain SVG, server-rendered, each
// bar segment with a tooltip and the legend below. Scales to its box, so it fits a phone. The one bar chart of
// the app (usage per model, questions and thumbs per day).
export interface BarSeries {
  /** The category on the x axis (a day "2026-12-04"). */
  x: string;
  /** The stack (a model name). */
  stack: string;
  value: number;
}

const W = 640;
const H = 200;
const PAD = { left: 48, right: 8, top: 10, bottom: 24 };
const COLOURS = ["#2563eb", "#16a34a", "#d97706", "#9333ea", "#dc2626", "#0891b2", "#64748b"];

/** 1234567 → "1.2M"; 0.25 → "0.25". */
export function compactNumber(v: number): string {
  if (Math.abs(v) >= 1e6) return `${(v / 1e6).toFixed(1)}M`;
  if (Math.abs(v) >= 1e3) return `${(v / 1e3).toFixed(1)}k`;
  return Number.isInteger(v) ? String(v) : v.toFixed(2);
}

/** A stack with its legend label and colour, for charts whose stacks are known in advance. */
export interface BarStack {
  key: string;
  label: string;
  color: string;
}

export function BarChart({
  title,
  unit,
  series,
  testId,
  categories,
  stacks: known,
}: {
  title: string;
  unit: string;
  series: BarSeries[];
  testId?: string;
  /** Every category in order, those without data too (each day of a period); default: those in `series`, sorted. */
  categories?: string[];
  /** The stacks in this order, labels and colours; default: those in `series`, sorted, coloured from the palette. */
  stacks?: BarStack[];
}) {
  const xs = categories ?? [...new Set(series.map((s) => s.x))].sort();
  const stackList: BarStack[] =
    known ?? [...new Set(series.map((s) => s.stack))].sort().map((key, i) => ({ key, label: key, color: COLOURS[i % COLOURS.length]! }));
  const stacks = stackList.map((s) => s.key);
  const totals = xs.map((x) => series.filter((s) => s.x === x).reduce((n, s) => n + s.value, 0));
  const max = Math.max(...totals, 0) || 1;
  const slot = (W - PAD.left - PAD.right) / Math.max(xs.length, 1);
  const barW = Math.max(2, Math.min(40, slot * 0.7));
  const y = (v: number) => PAD.top + (H - PAD.top - PAD.bottom) * (1 - v / max);
  const colour = (stack: string) => stackList[stacks.indexOf(stack)]!.color;
  const label = (stack: string) => stackList[stacks.indexOf(stack)]!.label;
  return (
    <figure className="min-w-0 rounded-lg border border-zinc-200 p-3 dark:border-zinc-800">
      <figcaption className="mb-2 text-sm font-medium">{title}</figcaption>
      {xs.length === 0 ? (
        <p className="text-sm text-zinc-500">Nothing recorded in this period.</p>
      ) : (
        <>
          <svg viewBox={`0 0 ${W} ${H}`} role="img" aria-label={title} data-testid={testId} className="h-auto w-full">
            {[0, 0.5, 1].map((f) => (
              <g key={f}>
                <line x1={PAD.left} x2={W - PAD.right} y1={y(max * f)} y2={y(max * f)} stroke="currentColor" strokeOpacity={0.1} />
                <text x={PAD.left - 6} y={y(max * f) + 4} fontSize={11} textAnchor="end" fill="currentColor" opacity={0.6}>
                  {compactNumber(max * f)}
                </text>
              </g>
            ))}
            {xs.map((x, i) => {
              let base = 0;
              const cx = PAD.left + slot * i + (slot - barW) / 2;
              return (
                <g key={x}>
                  {stacks.map((stack) => {
                    const v = series.filter((s) => s.x === x && s.stack === stack).reduce((n, s) => n + s.value, 0);
                    if (v <= 0) return null;
                    const top = y(base + v);
                    const rect = (
                      <rect key={stack} data-testid={testId ? `${testId}-bar` : undefined} x={cx} y={top} width={barW} height={Math.max(0.5, y(base) - top)} fill={colour(stack)}>
                        <title>{`${x} · ${label(stack)} · ${compactNumber(v)} ${unit}`}</title>
                      </rect>
                    );
                    base += v;
                    return rect;
                  })}
                </g>
              );
            })}
            <text x={PAD.left} y={H - 6} fontSize={11} fill="currentColor" opacity={0.6}>
              {xs[0]}
            </text>
            <text x={W - PAD.right} y={H - 6} fontSize={11} textAnchor="end" fill="currentColor" opacity={0.6}>
              {xs.at(-1)}
            </text>
          </svg>
          <ul className="mt-2 flex flex-wrap gap-x-4 gap-y-1 text-xs text-zinc-600 dark:text-zinc-400">
            {stacks.map((s) => (
              <li key={s} className="flex min-w-0 items-center gap-1 break-all">
                <span aria-hidden className="inline-block h-2.5 w-2.5 shrink-0 rounded-sm" style={{ background: colour(s) }} />
                {label(s)}
              </li>
            ))}
          </ul>
        </>
      )}
    </figure>
  );
}
