"use client";
import { sourceLink, sourceLinkProps } from "./source-link";
import type { Source } from "./types";

const fmt = (x: number | null, d = 2) => (x === null ? "–" : x.toFixed(d));

export function SourcesPanel({ sources }: { sources: Source[] }) {
  if (sources.length === 0) {
    return <p className="text-sm text-zinc-500">Sources of the answer appear here.</p>;
  }
  return (
    <ol className="space-y-2" data-testid="sources-panel">
      {sources.map((s) => {
        const link = sourceLink(s);
        return (
        <li
          key={s.chunkId}
          className={`min-w-0 rounded-md border p-2 text-sm break-words ${s.cited ? "border-sky-300 dark:border-sky-700" : "border-zinc-200 opacity-80 dark:border-zinc-800"}`}
        >
          <div className="flex min-w-0 items-baseline gap-2">
            <span className="font-mono text-xs text-zinc-500">[{s.n}]</span>
            {link ? (
              <a {...sourceLinkProps(link)} data-testid="source-link" className="font-medium text-sky-700 hover:underline dark:text-sky-300">
                {s.title}
              </a>
            ) : (
              <span className="font-medium">{s.title}</span>
            )}
            {s.cited && <span className="ml-auto text-xs text-sky-700 dark:text-sky-300">cited</span>}
          </div>
          {s.headingPath.length > 0 && <div className="text-xs text-zinc-500">{s.headingPath.join(" › ")}</div>}
          <details className="mt-1">
            <summary className="cursor-pointer text-xs text-zinc-500">Passage and scores</summary>
            <p className="mt-1 whitespace-pre-wrap text-xs [overflow-wrap:anywhere]">{s.text}</p>
            <p className="mt-1 font-mono text-[11px] text-zinc-500">
              vector {fmt(s.scores.vector)} · BM25 {fmt(s.scores.text)} · fused {fmt(s.scores.fused, 4)} · rerank {fmt(s.scores.rerank)}
            </p>
          </details>
        </li>
        );
      })}
    </ol>
  );
}
