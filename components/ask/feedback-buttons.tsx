"use client";
import { useState } from "react";

const REASONS: Array<[string, string]> = [
  ["wrong", "Wrong"],
  ["incomplete", "Incomplete"],
  ["not_in_wiki", "Not what the wiki says"],
  ["bad_sources", "Wrong sources"],
  ["outdated", "Outdated"],
  ["other", "Other"],
];

/** Thumbs up/down; thumbs down asks for a reason. Stored with the answer's retrieved chunks. */
export function FeedbackButtons({ queryLogId, value, onDone }: { queryLogId: string; value?: 1 | -1; onDone: (v: 1 | -1) => void }) {
  const [asking, setAsking] = useState(false);
  const [reason, setReason] = useState("wrong");
  const [comment, setComment] = useState("");
  const [error, setError] = useState<string | null>(null);

  async function send(rating: 1 | -1, extra: { reason?: string; comment?: string } = {}) {
    setError(null);
    const res = await fetch("/api/feedback", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ queryLogId, rating, ...extra }),
    });
    if (!res.ok) {
      setError((await res.json().catch(() => null))?.error?.message ?? `Could not save (${res.status})`);
      return;
    }
    setAsking(false);
    onDone(rating);
  }

  if (value) {
    return (
      <span className="text-xs text-zinc-500" data-testid="feedback-thanks">
        Thanks for the feedback {value === 1 ? "👍" : "👎"}
      </span>
    );
  }
  return (
    <span className="inline-flex flex-wrap items-center gap-1">
      <button type="button" className="rounded px-1.5 py-0.5 text-sm hover:bg-zinc-100 dark:hover:bg-zinc-800" aria-label="Good answer" onClick={() => send(1, { reason: "helpful" })}>
        👍
      </button>
      <button type="button" className="rounded px-1.5 py-0.5 text-sm hover:bg-zinc-100 dark:hover:bg-zinc-800" aria-label="Bad answer" onClick={() => setAsking((a) => !a)}>
        👎
      </button>
      {asking && (
        <form
          className="flex w-full flex-wrap items-center gap-2 pt-2"
          onSubmit={(e) => {
            e.preventDefault();
            void send(-1, { reason, ...(comment.trim() ? { comment: comment.trim() } : {}) });
          }}
        >
          <label className="text-xs">
            Reason{" "}
            <select value={reason} onChange={(e) => setReason(e.target.value)} className="rounded border border-zinc-300 bg-transparent px-1 py-0.5 dark:border-zinc-700">
              {REASONS.map(([v, l]) => (
                <option key={v} value={v}>
                  {l}
                </option>
              ))}
            </select>
          </label>
          <input
            value={comment}
            onChange={(e) => setComment(e.target.value)}
            placeholder="What was wrong? (optional)"
            aria-label="Comment"
            className="min-w-0 flex-1 rounded border border-zinc-300 bg-transparent px-2 py-0.5 text-xs dark:border-zinc-700"
          />
          <button type="submit" className="rounded bg-zinc-800 px-2 py-0.5 text-xs text-white dark:bg-zinc-200 dark:text-zinc-900">
            Send feedback
          </button>
        </form>
      )}
      {error && <span className="text-xs text-red-600">{error}</span>}
    </span>
  );
}
