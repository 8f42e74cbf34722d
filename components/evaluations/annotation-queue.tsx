"use client";
import { useCallback, useEffect, useRef, useState } from "react";
import { Button } from "@/components/ui/button";
import { controlClass, Field } from "@/components/ui/field";
import { FormError } from "@/components/ui/form-error";
import type { AnnotationItemView as Item } from "@/lib/evaluate/types";
import { errorMessage, fetchJson } from "@/lib/http/client-fetch";
import { PassageList } from "./passage-list";

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
    let body: { item: Item | null };
    try {
      body = await fetchJson<{ item: Item | null }>("/api/annotations/next");
    } catch (err) {
      setError(errorMessage(err));
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
    try {
      await fetchJson("/api/annotations", {
        method: "POST",
        json: { targetKind: item.targetKind, targetId: item.targetId, hallucinationScore: score, ...(comment.trim() ? { comment } : {}) },
      });
    } catch (err) {
      setError(errorMessage(err));
      return;
    } finally {
      busy.current = false;
    }
    setSaved((n) => n + 1);
    await load();
  }, [item, score, comment, load]);

  const skip = useCallback(async () => {
    if (!item || busy.current) return;
    busy.current = true;
    try {
      await fetchJson("/api/annotations/skip", { method: "POST", json: { targetKind: item.targetKind, targetId: item.targetId } });
    } catch (err) {
      setError(errorMessage(err));
      return;
    } finally {
      busy.current = false;
    }
    await load();
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
        <p className="whitespace-pre-wrap break-words">{item.answer}</p>
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
              className={`rounded-md border px-3 py-1.5 text-sm ${score === v ? "border-sky-700 bg-sky-700 text-white" : "border-zinc-300 dark:border-zinc-700"}`}
            >
              {v}
            </button>
          ))}
        </div>
        {score !== null && <p className="mt-1 text-xs text-zinc-500">{LABELS[score]}</p>}
      </fieldset>
      <Field label="Comment (optional)">
        <textarea value={comment} onChange={(e) => setComment(e.target.value)} rows={2} className={controlClass} />
      </Field>
      <FormError message={error} />
      <div className="flex flex-wrap gap-2">
        <Button variant="primary" onClick={() => void submit()}>
          Save score
        </Button>
        <Button onClick={() => void skip()}>Skip</Button>
      </div>
    </div>
  );
}
