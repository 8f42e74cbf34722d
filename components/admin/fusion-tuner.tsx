"use client";
// Learns a collection's fusion weights from a dataset (POST /api/admin/retrieval/fusion), shows every
// weighting tried as a chart and the before/after figures, and saves the learned one (PUT).
import { useRouter } from "next/navigation";
import { useMemo, useState } from "react";
import type { CollectionFusionView, LearnedFusion } from "@/lib/retrieve/types";
import { tuningSummary } from "@/lib/retrieve/fusion-summary";
import type { FusionScore } from "@/lib/retrieve/fusion-tuning";
import { Button } from "@/components/ui/button";
import { CollectionSelect } from "@/components/ui/collection-select";
import { controlClass, Field } from "@/components/ui/field";
import { FormError, FormNotice } from "@/components/ui/form-error";
import { Card } from "@/components/ui/page-header";
import { Table } from "@/components/ui/table";
import { errorMessage, fetchJson } from "@/lib/http/client-fetch";

const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
const fixed = (x: number) => x.toFixed(3);
/** Share of the vector ranking in a weighting (0: full text alone, 1: vectors alone). */
const share = (c: { vector: number; text: number }) => c.vector / (c.vector + c.text);
const weightLabel = (c: { vector: number; text: number }) => `vector ${c.vector} · text ${c.text}`;

export function FusionTuner({ collections, datasets }: { collections: CollectionFusionView[]; datasets: Array<{ id: string; name: string; itemCount: number }> }) {
  const router = useRouter();
  const [collectionId, setCollectionId] = useState(collections[0]?.id ?? "");
  const [datasetId, setDatasetId] = useState(datasets[0]?.id ?? "");
  const [result, setResult] = useState<LearnedFusion | null>(null);
  const [busy, setBusy] = useState<"learn" | "save" | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [saved, setSaved] = useState<string | null>(null);

  async function act(kind: "learn" | "save", fn: () => Promise<void>) {
    setBusy(kind);
    setError(null);
    setSaved(null);
    try {
      await fn();
    } catch (e) {
      setError(errorMessage(e));
    } finally {
      setBusy(null);
    }
  }
  const learn = () =>
    act("learn", async () => {
      setResult(null);
      setResult(await fetchJson<LearnedFusion>("/api/admin/retrieval/fusion", { method: "POST", json: { collectionId, datasetId } }));
    });
  const save = (values: { vectorWeight: number; textWeight: number; candidates: number | null }, withTuning: boolean) =>
    act("save", async () => {
      const tuning = withTuning && result ? tuningSummary(result) : undefined;
      await fetchJson("/api/admin/retrieval/fusion", { method: "PUT", json: { collectionId, ...values, tuning } });
      setSaved("Saved: searches of this collection use it within 30 seconds on every web process.");
      router.refresh();
    });

  if (collections.length === 0) return <p className="text-sm">No collection yet.</p>;
  return (
    <div className="space-y-5">
      <Table
        testId="fusion-collections"
        columns={[{ header: "Collection", sortable: true }, { header: "Weights" }, { header: "Candidates per stage" }, { header: "Last tuning", className: "min-w-64" }]}
        rows={collections.map((c) => ({
          key: c.id,
          sort: [c.name],
          cells: [
            c.name,
            c.vectorWeight === 1 && c.textWeight === 1 ? "equal (plain RRF)" : weightLabel({ vector: c.vectorWeight, text: c.textWeight }),
            c.candidates ?? `${c.defaultCandidates} (default)`,
            <span key="t" className="text-zinc-600 dark:text-zinc-400">
              {c.tuning
                ? `${c.tuning.datasetName}, ${c.tuning.questions} questions: nDCG@10 ${fixed(c.tuning.before.ndcg)} → ${fixed(c.tuning.after.ndcg)} (held out ${fixed(c.tuning.heldOut.current)} → ${fixed(c.tuning.heldOut.learned)})`
                : "never"}
            </span>,
          ],
        }))}
      />

      <Card>
        <form
          aria-label="Learn fusion weights"
          className="flex flex-wrap items-end gap-3"
          onSubmit={(e) => {
            e.preventDefault();
            void learn();
          }}
        >
          <Field label="Collection" className="w-full sm:w-56">
            <CollectionSelect collections={collections} value={collectionId} onChange={(e) => (setCollectionId(e.target.value), setResult(null))} />
          </Field>
          <Field label="Evaluation dataset" className="w-full sm:w-72">
            <select className={controlClass} value={datasetId} onChange={(e) => (setDatasetId(e.target.value), setResult(null))}>
              {datasets.length === 0 && <option value="">No dataset yet</option>}
              {datasets.map((d) => (
                <option key={d.id} value={d.id}>
                  {d.name} ({d.itemCount} items)
                </option>
              ))}
            </select>
          </Field>
          <Button type="submit" variant="primary" disabled={busy !== null || !datasetId}>
            {busy === "learn" ? "Trying every weighting…" : "Learn weights"}
          </Button>
          <Button disabled={busy !== null} onClick={() => void save({ vectorWeight: 1, textWeight: 1, candidates: null }, false)}>
            Reset to equal
          </Button>
        </form>
      </Card>
      <FormError message={error} />
      <FormNotice message={saved} />
      {result && <TuningReport result={result} busy={busy !== null} onSave={() => void save({ vectorWeight: result.best.vector, textWeight: result.best.text, candidates: result.best.candidates }, true)} />}
    </div>
  );
}

function TuningReport({ result, busy, onSave }: { result: LearnedFusion; busy: boolean; onSave: () => void }) {
  if (result.questions === 0) {
    return (
      <p role="status" className="text-sm">
        None of the {result.skipped} questions&apos; expected sources were found in {result.collection.name}: there is nothing to learn from.
      </p>
    );
  }
  const changed = result.best.vector !== result.current.vector || result.best.text !== result.current.text || result.best.candidates !== result.current.candidates;
  return (
    <section aria-label="Tuning result" className="space-y-3">
      <p className="text-sm">
        {result.questions} questions of “{result.dataset.name}” (version {result.dataset.version})
        {result.skipped ? `; ${result.skipped} left out (no expected source found in ${result.collection.name})` : ""}.
        {result.embedder === "unavailable" && " The embedding model was not reachable: only full-text rankings were compared."}
      </p>
      <Table
        testId="fusion-result"
        columns={[{ header: "", srOnly: true }, { header: "Weights" }, { header: "Candidates", align: "right" }, { header: "nDCG@10", align: "right" }, { header: `Hit rate (top ${result.k})`, align: "right" }, { header: "nDCG@10 on held-out halves", align: "right" }]}
        rows={(
          [
            ["Now", result.current, result.heldOut.current],
            ["Learned", result.best, result.heldOut.learned],
          ] as Array<[string, FusionScore, number]>
        ).map(([label, s, held]) => ({
          key: label,
          cells: [<span key="l" className="font-medium">{label}</span>, weightLabel(s), s.candidates, fixed(s.ndcg), pct(s.hitRate), fixed(held)],
        }))}
      />
      <FusionChart configs={result.configs} best={result.best} current={result.current} />
      <div className="flex flex-wrap items-center gap-3">
        <Button variant="primary" disabled={busy || !changed} onClick={onSave}>
          Save the learned weights
        </Button>
        {!changed && <span className="text-sm text-zinc-600 dark:text-zinc-400">The current weights are already the best on this dataset.</span>}
      </div>
    </section>
  );
}

/** nDCG@10 against the vector ranking's share, one line per candidate count; the best and current points marked. */
function FusionChart({ configs, best, current }: { configs: FusionScore[]; best: FusionScore; current: FusionScore }) {
  const W = 560;
  const H = 220;
  const pad = { l: 44, r: 12, t: 12, b: 36 };
  const lines = useMemo(() => {
    const by = new Map<number, FusionScore[]>();
    for (const c of configs) by.set(c.candidates, [...(by.get(c.candidates) ?? []), c]);
    return [...by.entries()].sort((a, b) => a[0] - b[0]).map(([candidates, list]) => ({ candidates, points: list.sort((a, b) => share(a) - share(b)) }));
  }, [configs]);
  const ys = configs.map((c) => c.ndcg);
  const lo = Math.max(0, Math.min(...ys) - 0.02);
  const hi = Math.min(1, Math.max(...ys) + 0.02);
  const x = (s: number) => pad.l + s * (W - pad.l - pad.r);
  const y = (v: number) => pad.t + (1 - (v - lo) / (hi - lo || 1)) * (H - pad.t - pad.b);
  const colours = ["#0284c7", "#7c3aed", "#059669", "#d97706"];
  return (
    <figure className="max-w-full overflow-x-auto">
      <svg role="img" aria-label="nDCG@10 by the vector ranking's share" viewBox={`0 0 ${W} ${H}`} className="h-auto w-full max-w-xl text-zinc-500">
        <line x1={pad.l} y1={H - pad.b} x2={W - pad.r} y2={H - pad.b} stroke="currentColor" strokeWidth="0.5" />
        <line x1={pad.l} y1={pad.t} x2={pad.l} y2={H - pad.b} stroke="currentColor" strokeWidth="0.5" />
        {[lo, (lo + hi) / 2, hi].map((v) => (
          <text key={v} x={pad.l - 4} y={y(v) + 3} textAnchor="end" fontSize="10" fill="currentColor">
            {v.toFixed(2)}
          </text>
        ))}
        {[0, 0.5, 1].map((s) => (
          <text key={s} x={x(s)} y={H - pad.b + 14} textAnchor="middle" fontSize="10" fill="currentColor">
            {s === 0 ? "full text only" : s === 1 ? "vectors only" : "equal"}
          </text>
        ))}
        {lines.map((l, i) => (
          <polyline
            key={l.candidates}
            fill="none"
            stroke={colours[i % colours.length]}
            strokeWidth="1.5"
            points={l.points.map((p) => `${x(share(p)).toFixed(1)},${y(p.ndcg).toFixed(1)}`).join(" ")}
          />
        ))}
        <circle cx={x(share(current))} cy={y(current.ndcg)} r="4" fill="none" stroke="currentColor" strokeWidth="1.5">
          <title>{`now: ${weightLabel(current)}, ${current.candidates} candidates, nDCG@10 ${fixed(current.ndcg)}`}</title>
        </circle>
        <circle cx={x(share(best))} cy={y(best.ndcg)} r="4" fill="#059669">
          <title>{`learned: ${weightLabel(best)}, ${best.candidates} candidates, nDCG@10 ${fixed(best.ndcg)}`}</title>
        </circle>
      </svg>
      <figcaption className="flex flex-wrap gap-3 text-xs text-zinc-600 dark:text-zinc-400">
        <span>nDCG@10 by the vector ranking&apos;s share of the fusion.</span>
        {lines.map((l, i) => (
          <span key={l.candidates} style={{ color: colours[i % colours.length] }}>
            — {l.candidates} candidates per stage
          </span>
        ))}
        <span>○ now · ● learned</span>
      </figcaption>
    </figure>
  );
}
