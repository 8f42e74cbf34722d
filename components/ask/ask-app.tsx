"use client";
// The Ask page: a streamed answer with cited superscripts, a sources panel, stop / regenerate / copy,
// thumbs with a reason, a collection picker, and the user's conversations. Talks only to the HTTP API.
import { useCallback, useEffect, useRef, useState } from "react";
import { AnswerText } from "./answer-text";
import { FeedbackButtons } from "./feedback-buttons";
import { SourcesPanel } from "./sources-panel";
import { Button, buttonClass } from "@/components/ui/button";
import { CopyIcon, PlusIcon, RefreshIcon, StopIcon } from "@/components/ui/icons";
import { readSse } from "@/lib/answer/sse";
import { errorMessage, fetchOk } from "@/lib/http/client-fetch";
import type { CollectionOption, ConversationSummary, Result, Turn } from "./types";
import type { BudgetReport } from "@/lib/usage/types";

let keySeq = 0;
const newKey = () => `t${Date.now()}-${keySeq++}`;

export function AskApp(props: {
  collections: CollectionOption[];
  conversations: ConversationSummary[];
  conversationId: string | null;
  initialTurns: Turn[];
  status: React.ReactNode;
}) {
  const [turns, setTurns] = useState<Turn[]>(props.initialTurns);
  const [conversationId, setConversationId] = useState<string | null>(props.conversationId);
  const [input, setInput] = useState("");
  const [selected, setSelected] = useState<string[]>([]);
  const [busy, setBusy] = useState(false);
  const [focusKey, setFocusKey] = useState<string | null>(null);
  const [copied, setCopied] = useState<string | null>(null);
  const abortRef = useRef<AbortController | null>(null);
  const endRef = useRef<HTMLDivElement | null>(null);

  const update = (key: string, fn: (t: Turn) => Turn) => setTurns((ts) => ts.map((t) => (t.key === key ? fn(t) : t)));

  useEffect(() => {
    endRef.current?.scrollIntoView({ block: "end" });
  }, [turns.length]);

  const run = useCallback(
    async (question: string, opts: { regenerate?: boolean } = {}) => {
      const key = newKey();
      const turn: Turn = { key, question, answer: "", sources: [], result: null, state: "streaming" };
      setTurns((ts) => (opts.regenerate ? [...ts.slice(0, -1), turn] : [...ts, turn]));
      setFocusKey(key);
      setBusy(true);
      const ac = new AbortController();
      abortRef.current = ac;
      try {
        const res = await fetchOk("/api/evaluate", {
          method: "POST",
          headers: { accept: "text/event-stream" },
          json: {
            question,
            ...(selected.length ? { collections: selected } : {}),
            ...(conversationId ? { conversationId } : { saveConversation: true }),
            ...(opts.regenerate ? { regenerate: true } : {}),
          },
          signal: ac.signal,
        });
        if (!res.body) throw new Error("The server sent no answer.");
        for await (const { event, data } of readSse(res.body)) {
          if (event === "start") {
            update(key, (t) => ({ ...t, budget: data.budget }));
            if (data.conversationId && data.conversationId !== conversationId) {
              setConversationId(data.conversationId);
              window.history.replaceState(null, "", `/?c=${data.conversationId}`);
            }
          } else if (event === "sources") update(key, (t) => ({ ...t, sources: data.sources }));
          else if (event === "token") update(key, (t) => ({ ...t, answer: t.answer + data.text }));
          else if (event === "error") update(key, (t) => ({ ...t, error: data.message }));
          else if (event === "done") {
            const result = data as Result;
            update(key, (t) => ({
              ...t,
              answer: result.answer,
              sources: result.sources,
              result,
              state: result.status === "error" ? "error" : result.status === "aborted" ? "stopped" : "done",
              error: result.status === "error" ? (t.error ?? result.error ?? "The model failed.") : t.error,
            }));
          }
        }
        update(key, (t) => (t.state === "streaming" ? { ...t, state: ac.signal.aborted ? "stopped" : "error", error: t.error ?? (ac.signal.aborted ? undefined : "The answer stopped early.") } : t));
      } catch (err) {
        const stopped = ac.signal.aborted;
        update(key, (t) => ({ ...t, state: stopped ? "stopped" : "error", error: stopped ? undefined : errorMessage(err) }));
      } finally {
        setBusy(false);
        abortRef.current = null;
      }
    },
    [conversationId, selected],
  );

  function submit() {
    const q = input.trim();
    if (!q || busy) return;
    setInput("");
    void run(q);
  }

  async function copy(t: Turn) {
    const text = t.answer;
    try {
      await navigator.clipboard.writeText(text);
    } catch {
      // Plain-HTTP LAN addresses have no clipboard API: fall back to a selection copy.
      const area = document.createElement("textarea");
      area.value = text;
      document.body.appendChild(area);
      area.select();
      document.execCommand("copy");
      area.remove();
    }
    setCopied(t.key);
    setTimeout(() => setCopied(null), 1500);
  }

  const focused = turns.find((t) => t.key === focusKey) ?? turns.at(-1);
  const toggle = (id: string) => setSelected((s) => (s.includes(id) ? s.filter((x) => x !== id) : [...s, id]));

  return (
    <div className="grid min-w-0 grid-cols-1 gap-6 lg:grid-cols-[14rem_minmax(0,1fr)_20rem]">
      {/* Conversations and status: left on wide screens, last on a phone. */}
      <aside className="order-last min-w-0 space-y-4 lg:order-first" aria-label="Conversations">
        <a href="/" className={`${buttonClass("secondary")} w-full`}>
          <PlusIcon /> New conversation
        </a>
        <nav>
          <h2 className="mb-1 text-xs font-semibold uppercase tracking-wide text-zinc-500">History</h2>
          {props.conversations.length === 0 ? (
            <p className="text-xs text-zinc-500">No conversations yet.</p>
          ) : (
            <ul className="space-y-0.5 text-sm" data-testid="conversation-list">
              {props.conversations.map((c) => (
                <li key={c.id}>
                  <a
                    href={`/?c=${c.id}`}
                    className={`block truncate rounded px-2 py-1 hover:bg-zinc-100 dark:hover:bg-zinc-800 ${c.id === conversationId ? "bg-zinc-100 font-medium dark:bg-zinc-800" : ""}`}
                    title={c.title}
                  >
                    {c.title}
                  </a>
                </li>
              ))}
            </ul>
          )}
        </nav>
        <div className="text-xs">{props.status}</div>
      </aside>

      <section className="flex min-h-[60vh] min-w-0 flex-col" aria-label="Answer">
        {props.collections.length > 1 && (
          <fieldset className="mb-3 flex flex-wrap items-center gap-1.5 text-xs" aria-label="Collections">
            <legend className="sr-only">Collections to search</legend>
            <span className="text-zinc-500">Search in:</span>
            <button
              type="button"
              onClick={() => setSelected([])}
              aria-pressed={selected.length === 0}
              className={`max-w-full truncate rounded-full border px-2 py-0.5 ${selected.length === 0 ? "border-sky-500 bg-sky-50 dark:bg-sky-950" : "border-zinc-300 dark:border-zinc-700"}`}
            >
              All collections
            </button>
            {props.collections.map((c) => (
              <button
                key={c.id}
                type="button"
                onClick={() => toggle(c.id)}
                aria-pressed={selected.includes(c.id)}
                className={`max-w-full truncate rounded-full border px-2 py-0.5 ${selected.includes(c.id) ? "border-sky-500 bg-sky-50 dark:bg-sky-950" : "border-zinc-300 dark:border-zinc-700"}`}
              >
                {c.name}
              </button>
            ))}
          </fieldset>
        )}

        <div className="min-w-0 flex-1 space-y-6" aria-live="polite">
          {turns.length === 0 && (
            <div className="rounded-lg border border-dashed border-zinc-300 p-6 text-center text-zinc-500 dark:border-zinc-700" data-testid="ask-empty">
              <p className="text-lg text-zinc-700 dark:text-zinc-200">Ask the wiki</p>
              <p className="mt-1 text-sm">Answers come only from the wiki, with a numbered source for every claim. Hover a number to read the passage.</p>
            </div>
          )}
          {turns.map((t, i) => (
            <article key={t.key} className="min-w-0 space-y-2" data-testid="turn" onClick={() => setFocusKey(t.key)}>
              <div className="ml-auto w-fit max-w-[90%] whitespace-pre-wrap break-words rounded-lg bg-zinc-100 px-3 py-2 dark:bg-zinc-800" data-testid="question">
                {t.question}
              </div>
              <div className="min-w-0 rounded-lg border border-zinc-200 px-3 py-3 sm:px-4 dark:border-zinc-800" data-testid="answer" data-state={t.state}>
                {(t.result?.budget ?? t.budget)?.mode === "budget" && <BudgetNotice budget={(t.result?.budget ?? t.budget)!} />}
                {t.result?.status === "no_model" && (
                  <p className="mb-2 rounded bg-amber-50 px-2 py-1 text-sm text-amber-900 dark:bg-amber-950 dark:text-amber-100" data-testid="no-model">
                    No model available: these are the best matching passages, not a written answer.
                  </p>
                )}
                {t.answer ? (
                  <AnswerText text={t.answer} sources={t.sources} />
                ) : t.state === "streaming" ? (
                  <p className="animate-pulse text-zinc-500">{t.sources.length ? "Writing…" : "Searching the wiki…"}</p>
                ) : null}
                {t.result && !t.result.covered && t.result.status === "ok" && (
                  <p className="mt-2 text-xs text-zinc-500" data-testid="not-covered">Nothing in the wiki answers this; try other words or another collection.</p>
                )}
                {t.state === "error" && (
                  <p role="alert" className="mt-2 rounded bg-red-50 px-2 py-1 text-sm text-red-800 dark:bg-red-950 dark:text-red-100" data-testid="ask-error">
                    {t.error ?? "Something went wrong."}
                  </p>
                )}
                {t.state === "stopped" && <p className="mt-2 text-xs text-zinc-500">Stopped.</p>}
                <div className="mt-3 flex flex-wrap items-center gap-2 text-xs text-zinc-500">
                  {t.state === "streaming" ? (
                    <Button size="sm" onClick={() => abortRef.current?.abort()}>
                      <StopIcon size={12} /> Stop
                    </Button>
                  ) : (
                    <>
                      <Button size="sm" variant="ghost" onClick={() => copy(t)} disabled={!t.answer}>
                        <CopyIcon size={12} /> {copied === t.key ? "Copied" : "Copy"}
                      </Button>
                      {i === turns.length - 1 && !busy && (
                        <Button size="sm" variant="ghost" onClick={() => void run(t.question, { regenerate: true })}>
                          <RefreshIcon size={12} /> Regenerate
                        </Button>
                      )}
                      {t.result?.id && (
                        <FeedbackButtons queryLogId={t.result.id} value={t.feedback} onDone={(v) => update(t.key, (x) => ({ ...x, feedback: v }))} />
                      )}
                      {t.result && (
                        <span className="ml-auto" title="embed / retrieve / rerank / first token / total">
                          {t.result.timings.totalMs} ms{t.result.rerank.status !== "reranked" ? ` · rerank ${t.result.rerank.status}` : ""}
                        </span>
                      )}
                    </>
                  )}
                </div>
              </div>
            </article>
          ))}
          <div ref={endRef} />
        </div>

        <form
          className="sticky bottom-0 mt-4 flex items-end gap-2 bg-white pb-2 pt-2 dark:bg-zinc-950"
          onSubmit={(e) => {
            e.preventDefault();
            submit();
          }}
        >
          <textarea
            value={input}
            onChange={(e) => setInput(e.target.value)}
            onKeyDown={(e) => {
              // Enter sends; Shift+Enter is a new line (and IME composition is left alone).
              if (e.key === "Enter" && !e.shiftKey && !e.nativeEvent.isComposing) {
                e.preventDefault();
                submit();
              }
            }}
            rows={2}
            placeholder="Ask a question about the wiki…"
            aria-label="Question"
            className="min-h-[3rem] min-w-0 flex-1 resize-y rounded-lg border border-zinc-300 bg-transparent px-3 py-2 focus:outline-none focus:ring-2 focus:ring-sky-500 dark:border-zinc-700"
          />
          <Button type="submit" variant="primary" disabled={busy || !input.trim()} className="px-4 py-2">
            Ask
          </Button>
        </form>
      </section>

      <aside aria-label="Sources" className="min-w-0 lg:sticky lg:top-4 lg:max-h-[calc(100vh-2rem)] lg:overflow-y-auto">
        <h2 className="mb-2 text-xs font-semibold uppercase tracking-wide text-zinc-500">Sources</h2>
        <SourcesPanel sources={focused?.sources ?? []} />
      </aside>
    </div>
  );
}

/** Budget mode: the asker's budget is past its threshold, so answers are made more cheaply, and say so. */
function BudgetNotice({ budget }: { budget: BudgetReport }) {
  const share = budget.used != null && budget.limit ? Math.round((budget.used / budget.limit) * 100) : null;
  return (
    <p className="mb-2 rounded bg-amber-50 px-2 py-1 text-sm text-amber-900 dark:bg-amber-950 dark:text-amber-100" data-testid="budget-mode">
      Budget mode{budget.name ? `: the ${budget.name} is ${share ?? "?"}% used` : ""}
      {budget.resetsAt ? ` until ${budget.resetsAt.slice(0, 16).replace("T", " ")} UTC` : ""}. This answer used the smaller model and fewer sources.
    </p>
  );
}
