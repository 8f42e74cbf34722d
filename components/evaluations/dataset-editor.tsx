"use client";
import { useState } from "react";
import { Button } from "@/components/ui/button";
import { controlClass } from "@/components/ui/field";
import { FormError } from "@/components/ui/form-error";
import type { DatasetItemView } from "@/lib/evaluate/types";
import { errorMessage, fetchJson } from "@/lib/http/client-fetch";

/** Edits a dataset's items (one JSON object per line); saving writes a new version. */
export function DatasetEditor({ datasetId, items }: { datasetId: string; items: DatasetItemView[] }) {
  const initial = items.map((i) => JSON.stringify({ question: i.question, referenceAnswer: i.referenceAnswer, expectedSources: i.expectedSources })).join("\n");
  const [text, setText] = useState(initial);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  async function save() {
    setError(null);
    const parsed: unknown[] = [];
    const lines = text.split("\n");
    for (const [i, line] of lines.entries()) {
      if (!line.trim()) continue;
      try {
        parsed.push(JSON.parse(line));
      } catch {
        setError(`Line ${i + 1} is not valid JSON.`);
        return;
      }
    }
    setBusy(true);
    try {
      await fetchJson(`/api/datasets/${datasetId}`, { method: "PATCH", json: { items: parsed, note: "edited in the UI" } });
      window.location.reload();
    } catch (err) {
      setBusy(false);
      setError(errorMessage(err));
    }
  }
  return (
    <div className="space-y-2 text-sm">
      <textarea
        aria-label="Items (one JSON object per line)"
        value={text}
        onChange={(e) => setText(e.target.value)}
        rows={Math.min(20, Math.max(6, items.length + 2))}
        className={`${controlClass} font-mono text-xs`}
      />
      <FormError message={error} />
      <Button onClick={() => void save()} disabled={busy}>
        {busy ? "Saving…" : "Save as new version"}
      </Button>
    </div>
  );
}
