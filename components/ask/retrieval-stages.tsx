// The four stages of one retrieval side by side (admin retrieval test page).
interface Row {
  chunkId: string;
  title: string;
  headingPath: string[];
  text: string;
  vectorRank: number | null;
  vectorScore: number | null;
  textRank: number | null;
  textScore: number | null;
  fusedRank: number;
  fusedScore: number;
  rerankScore: number | null;
}

const f = (x: number | null, d = 3) => (x === null ? "–" : x.toFixed(d));

function Stage({ title, rows, score, testId }: { title: string; rows: Row[]; score: (r: Row) => string; testId: string }) {
  return (
    <section className="min-w-0 rounded-lg border border-zinc-200 p-3 dark:border-zinc-800" data-testid={testId}>
      <h2 className="mb-2 text-sm font-semibold">
        {title} <span className="font-normal text-zinc-500">({rows.length})</span>
      </h2>
      {rows.length === 0 ? (
        <p className="text-xs text-zinc-500">No candidates.</p>
      ) : (
        <ol className="space-y-1 text-xs">
          {rows.slice(0, 30).map((r, i) => (
            <li key={r.chunkId} className="flex gap-2" title={r.text.slice(0, 400)}>
              <span className="w-5 shrink-0 text-right font-mono text-zinc-500">{i + 1}</span>
              <span className="min-w-0 flex-1 truncate">
                {r.title}
                {r.headingPath.length ? <span className="text-zinc-500"> › {r.headingPath.join(" › ")}</span> : null}
              </span>
              <span className="shrink-0 font-mono">{score(r)}</span>
            </li>
          ))}
        </ol>
      )}
    </section>
  );
}

export function RetrievalStages(props: {
  embed: { status: string; model: string; error?: string };
  rerank: { status: string; model?: string; reason?: string };
  timings: { embedMs: number; retrieveMs: number; rerankMs: number };
  fused: Row[];
  reranked: Row[];
}) {
  const vector = props.fused.filter((r) => r.vectorRank !== null).sort((a, b) => a.vectorRank! - b.vectorRank!);
  const text = props.fused.filter((r) => r.textRank !== null).sort((a, b) => a.textRank! - b.textRank!);
  return (
    <div className="space-y-3">
      <p className="text-sm text-zinc-600 dark:text-zinc-400">
        Embedding: {props.embed.status} ({props.embed.model}) {props.embed.error ? `— ${props.embed.error}` : ""} · Rerank: {props.rerank.status}
        {props.rerank.model ? ` (${props.rerank.model})` : ""}
        {props.rerank.reason ? ` — ${props.rerank.reason}` : ""} · embed {props.timings.embedMs} ms · retrieve {props.timings.retrieveMs} ms · rerank{" "}
        {props.timings.rerankMs} ms
      </p>
      <div className="grid gap-3 md:grid-cols-2 xl:grid-cols-4">
        <Stage title="Vector (HNSW, cosine)" rows={vector} score={(r) => f(r.vectorScore)} testId="stage-vector" />
        <Stage title="Full-text (BM25)" rows={text} score={(r) => f(r.textScore, 2)} testId="stage-text" />
        <Stage title="Fused (RRF)" rows={props.fused} score={(r) => f(r.fusedScore, 4)} testId="stage-fused" />
        <Stage title={props.rerank.status === "reranked" ? "Reranked" : `Final (${props.rerank.status}: fused order)`} rows={props.reranked} score={(r) => f(r.rerankScore)} testId="stage-reranked" />
      </div>
    </div>
  );
}
