"use client";
import { useCallback, useEffect, useRef, useState } from "react";
import { PassageList, type Passage } from "./passage-list";

interface Item {
  targetKind: "run_item" | "external_output" | "query_log";
  targetId: string;
  question: string;
  answer: string;
  passages: Passage[];
  referenceAnswer: string | null;
  remaining: number;
}

const LABELS: Record<number, string> = {
  1: "mostly unsupported or contradicted",
  2: "many unsupported claims",
  3: "some unsupported claims",
  4: "minor unsupported detail",
  5: "fully supported by the sources",
};

/**
 * One answer at a time. Keys: 1–5 choose a score, Enter saves (Ctrl+Enter inside the comment), S skips.
 * The judge's score is deliberately not shown, so the human score is independent.
 */
export function AnnotationQueue() {
  const [item, setItem] = useState<Item | null | undefined>(undefined);
  const [score, setScore] = useState<number | null>(null);
  const [comment, setComment] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [saved, setSaved] = useState(0);
  const busy = useRef(false);

  const load = useCallback(async () => {
    setError(null);
    const res = await fetch("/api/annotations/next", { cache: "no-store" });
    const body = await res.json().catch(() => null);
    if (!res.ok) {
      setError(body?.error?.message ?? `Could not load the queue (HTTP ${res.status}).`);
      return;
    }
    setItem(body.item);
    setScore(null);
    setComment("");
  }, []);

  useEffect(() => {
    void load();
  }, [load]);

  const submit = useCallback(async () => {
    if (!item || busy.current) return;
    if (score === null) {
      setError("Choose a score from 1 to 5 first (keys 1–5).");
      return;
    }
    busy.current = true;
    const res = await fetch("/api/annotations", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ targetKind: item.targetKind, targetId: item.targetId, hallucinationScore: score, ...(comment.trim() ? { comment } : {}) }),
    });
    busy.current = false;
    if (!res.ok) {
      const body = await res.json().catch(() => null);
      setError(body?.error?.message ?? `Could not save (HTTP ${res.status}).`);
      return;
    }
    setSaved((n) => n + 1);
    await load();
  }, [item, score, comment, load]);

  const skip = useCallback(async () => {
    if (!item || busy.current) return;
    busy.current = true;
    const res = await fetch("/api/annotations/skip", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ targetKind: item.targetKind, targetId: item.targetId }),
    });
    busy.current = false;
    if (!res.ok) setError(`Could not skip (HTTP ${res.status}).`);
    else await load();
  }, [item, load]);

  useEffect(() => {
    function onKey(e: KeyboardEvent) {
      const typing = (e.target as HTMLElement | null)?.tagName === "TEXTAREA";
      if (typing) {
        if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) {
          e.preventDefault();
          void submit();
        }
        return;
      }
      if (e.ctrlKey || e.metaKey || e.altKey) return;
      if (/^[1-5]$/.test(e.key)) setScore(Number(e.key));
      else if (e.key === "Enter") {
        e.preventDefault();
        void submit();
      } else if (e.key === "s" || e.key === "S") void skip();
    }
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [submit, skip]);

  if (item === undefined) return <p className="text-sm text-zinc-500">Loading…</p>;
  if (item === null)
    return (
      <p data-testid="queue-empty" className="text-sm">
        Nothing left to score{saved ? ` — you scored ${saved} this session` : ""}. New answers appear here after evaluation runs.
      </p>
    );

  return (
    <div className="space-y-4" data-testid="queue-item" data-target-id={item.targetId}>
      <p className="text-xs text-zinc-500">
        <span data-testid="queue-remaining">{item.remaining}</span> waiting · keys: 1–5 score, Enter save, S skip
      </p>
      <section>
        <h2 className="text-xs font-semibold uppercase text-zinc-500">Question</h2>
        <p data-testid="queue-question" className="font-medium">
          {item.question}
        </p>
      </section>
      <section>
        <h2 className="text-xs font-semibold uppercase text-zinc-500">Answer</h2>
        <p className="whitespace-pre-wrap">{item.answer}</p>
      </section>
      {item.referenceAnswer && (
        <section>
          <h2 className="text-xs font-semibold uppercase text-zinc-500">Reference answer</h2>
          <p className="whitespace-pre-wrap text-sm">{item.referenceAnswer}</p>
        </section>
      )}
      <section>
        <h2 className="text-xs font-semibold uppercase text-zinc-500">Sources ({item.passages.length})</h2>
        <PassageList passages={item.passages} />
      </section>
      <fieldset>
        <legend className="mb-1 text-sm font-medium">Hallucination score (5 = fully faithful)</legend>
        <div className="flex flex-wrap gap-2" role="radiogroup">
          {[1, 2, 3, 4, 5].map((v) => (
            <button
              key={v}
              type="button"
              role="radio"
              aria-checked={score === v}
              title={LABELS[v]}
              onClick={() => setScore(v)}
              className={`rounded-md border px-3 py-1.5 text-sm ${score === v ? "border-blue-600 bg-blue-600 text-white" : "border-zinc-300 dark:border-zinc-700"}`}
            >
              {v}
            </button>
          ))}
        </div>
        {score !== null && <p className="mt-1 text-xs text-zinc-500">{LABELS[score]}</p>}
      </fieldset>
      <label className="block text-sm">
        <span className="mb-1 block font-medium">Comment (optional)</span>
        <textarea value={comment} onChange={(e) => setComment(e.target.value)} rows={2} className="w-full rounded-md border border-zinc-300 bg-transparent px-2 py-1.5 dark:border-zinc-700" />
      </label>
      {error && (
        <p role="alert" className="text-sm text-red-600">
          {error}
        </p>
      )}
      <div className="flex gap-2">
        <button type="button" onClick={() => void submit()} className="rounded-md bg-zinc-900 px-3 py-1.5 text-sm font-medium text-white dark:bg-zinc-100 dark:text-zinc-900">
          Save score
        </button>
        <button type="button" onClick={() => void skip()} className="rounded-md border border-zinc-300 px-3 py-1.5 text-sm dark:border-zinc-700">
          Skip
        </button>
      </div>
    </div>
  );
}
