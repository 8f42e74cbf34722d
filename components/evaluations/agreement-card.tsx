// Judge-vs-human agreement figures.
import type { AgreementView } from "@/lib/evaluate/types";

const pct = (v: number | null) => (v === null ? "–" : `${(v * 100).toFixed(0)}%`);
const num = (v: number | null, d = 2) => (v === null ? "–" : v.toFixed(d));

export function AgreementCard({ agreement }: { agreement: AgreementView }) {
  const a = agreement;
  const figures: Array<[string, string, string]> = [
    ["pairs", "Items scored by both", String(a.n)],
    ["kappa", "Weighted kappa (quadratic)", num(a.weightedKappa)],
    ["exact", "Exact agreement", pct(a.exact)],
    ["within-one", "Within one point", pct(a.withinOne)],
    ["mae", "Mean absolute error", num(a.meanAbsoluteError)],
  ];
  return (
    <section aria-labelledby="agreement-title" data-testid="agreement" className="rounded-lg border border-zinc-200 p-3 dark:border-zinc-800">
      <h2 id="agreement-title" className="mb-2 text-sm font-medium">
        Judge vs. human agreement
      </h2>
      <dl className="grid grid-cols-2 gap-2 text-sm sm:grid-cols-5">
        {figures.map(([id, label, value]) => (
          <div key={id}>
            <dt className="text-xs text-zinc-500">{label}</dt>
            <dd className="text-lg font-semibold" data-testid={`agreement-${id}`}>
              {value}
            </dd>
          </div>
        ))}
      </dl>
      {a.mostDisagreeing.length > 0 && (
        <>
          <h3 className="mt-3 text-xs font-semibold uppercase text-zinc-500">Most disagreement</h3>
          <ul className="mt-1 space-y-1 text-sm" data-testid="agreement-disagreements">
            {a.mostDisagreeing.map((d) => (
              <li key={d.itemId}>
                judge {d.judge} · human {d.human} —{" "}
                {d.link ? (
                  <a className="underline" href={d.link}>
                    {d.label}
                  </a>
                ) : (
                  d.label
                )}
              </li>
            ))}
          </ul>
        </>
      )}
    </section>
  );
}
