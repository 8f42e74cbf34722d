"use client";
import { useState } from "react";

interface EditorItem {
  question: string;
  referenceAnswer: string | null;
  expectedSources: string[];
}

/** Edits a dataset's items (one JSON object per line); saving writes a new version. */
export function DatasetEditor({ datasetId, items }: { datasetId: string; items: EditorItem[] }) {
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
    const res = await fetch(`/api/datasets/${datasetId}`, {
      method: "PATCH",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ items: parsed, note: "edited in the UI" }),
    });
    setBusy(false);
    if (res.ok) window.location.reload();
    else {
      const body = await res.json().catch(() => null);
      setError(body?.error?.message ?? `Could not save (HTTP ${res.status}).`);
    }
  }
  return (
    <div className="space-y-2 text-sm">
      <textarea aria-label="Items (one JSON object per line)" value={text} onChange={(e) => setText(e.target.value)} rows={Math.min(20, Math.max(6, items.length + 2))} className="w-full rounded-md border border-zinc-300 bg-transparent p-2 font-mono text-xs dark:border-zinc-700" />
      {error && (
        <p role="alert" className="text-red-600">
          {error}
        </p>
      )}
      <button type="button" onClick={() => void save()} disabled={busy} className="rounded-md border border-zinc-300 px-3 py-1.5 font-medium disabled:opacity-50 dark:border-zinc-700">
        {busy ? "Saving…" : "Save as new version"}
      </button>
    </div>
  );
}
