// Feedback (admin): thumbs with reasons and the chunks behind each answer; export as CSV or JSONL.
import { requirePageAccess } from "@/app/_server/access";
import { buttonClass } from "@/components/ui/button";
import { ThumbDownIcon, ThumbUpIcon } from "@/components/ui/icons";
import { listFeedback } from "@/lib/answer";

export const dynamic = "force-dynamic";

export default async function FeedbackPage({ searchParams }: { searchParams: Promise<{ rating?: string }> }) {
  const access = await requirePageAccess("admin");
  const { rating } = await searchParams;
  const filter = rating === "1" ? 1 : rating === "-1" ? -1 : undefined;
  const rows = await listFeedback(access, { limit: 200, rating: filter });
  const link = buttonClass("secondary", "sm");
  return (
    <div className="space-y-4">
      <div className="flex flex-wrap items-center gap-2">
        <h1 className="mr-auto text-2xl font-semibold">Feedback</h1>
        <a className={link} href="/admin/feedback">All</a>
        <a className={link} href="/admin/feedback?rating=-1">
          <ThumbDownIcon size={14} /> only
        </a>
        <a className={link} href="/admin/feedback?rating=1">
          <ThumbUpIcon size={14} /> only
        </a>
        <a className={link} href={`/api/feedback?format=csv${filter ? `&rating=${filter}` : ""}`}>Export CSV</a>
        <a className={link} href={`/api/feedback?format=jsonl${filter ? `&rating=${filter}` : ""}`}>Export JSONL</a>
      </div>
      {rows.length === 0 ? (
        <p className="text-zinc-500">No feedback yet.</p>
      ) : (
        <ul className="space-y-3" data-testid="feedback-list">
          {rows.map((r) => (
            <li key={r.id} className="min-w-0 rounded-lg border border-zinc-200 p-3 text-sm break-words dark:border-zinc-800">
              <div className="flex flex-wrap items-center gap-2">
                {r.rating === 1 ? <ThumbUpIcon size={18} aria-label="helpful" aria-hidden={false} role="img" /> : <ThumbDownIcon size={18} aria-label="not helpful" aria-hidden={false} role="img" />}
                {r.reason && <span className="rounded bg-zinc-100 px-1.5 py-0.5 text-xs dark:bg-zinc-800">{r.reason}</span>}
                <span className="text-xs text-zinc-500">
                  {new Date(r.createdAt).toLocaleString("en-GB", { timeZone: "UTC" })} UTC · {r.user ?? "deleted user"}
                </span>
              </div>
              {r.question && <p className="mt-1 font-medium">{r.question}</p>}
              {r.comment && <p className="mt-1 italic text-zinc-700 dark:text-zinc-300">“{r.comment}”</p>}
              {r.chunks.length > 0 && (
                <details className="mt-2">
                  <summary className="cursor-pointer text-xs text-zinc-500">{r.chunks.length} chunks given to the model</summary>
                  <ol className="mt-1 list-decimal space-y-1 pl-5 text-xs">
                    {r.chunks.map((c) => (
                      <li key={c.chunkId}>
                        {c.title ?? <span className="text-zinc-500">(chunk since replaced: {c.chunkId})</span>}
                        {c.excerpt && <span className="text-zinc-500"> — {c.excerpt}</span>}
                      </li>
                    ))}
                  </ol>
                </details>
              )}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
