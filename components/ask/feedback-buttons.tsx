"use client";
import { useState } from "react";
import { Button } from "@/components/ui/button";
import { controlClass } from "@/components/ui/field";
import { FormError } from "@/components/ui/form-error";
import { ThumbDownIcon, ThumbUpIcon } from "@/components/ui/icons";
import { errorMessage, fetchJson } from "@/lib/http/client-fetch";

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
    try {
      await fetchJson("/api/feedback", { method: "POST", json: { queryLogId, rating, ...extra } });
    } catch (err) {
      setError(errorMessage(err));
      return;
    }
    setAsking(false);
    onDone(rating);
  }

  if (value) {
    return (
      <span className="inline-flex items-center gap-1 text-xs text-zinc-500" data-testid="feedback-thanks">
        Thanks for the feedback {value === 1 ? <ThumbUpIcon size={14} /> : <ThumbDownIcon size={14} />}
      </span>
    );
  }
  return (
    <span className="inline-flex flex-wrap items-center gap-1">
      <Button size="sm" variant="ghost" aria-label="Good answer" onClick={() => send(1, { reason: "helpful" })}>
        <ThumbUpIcon size={14} />
      </Button>
      <Button size="sm" variant="ghost" aria-label="Bad answer" aria-expanded={asking} onClick={() => setAsking((a) => !a)}>
        <ThumbDownIcon size={14} />
      </Button>
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
            <select value={reason} onChange={(e) => setReason(e.target.value)} className={`${controlClass} w-auto py-0.5 text-xs`}>
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
            className={`${controlClass} flex-1 basis-40 py-0.5 text-xs`}
          />
          <Button type="submit" size="sm" variant="primary">
            Send feedback
          </Button>
        </form>
      )}
      <FormError message={error} className="w-full text-xs" />
    </span>
  );
}
