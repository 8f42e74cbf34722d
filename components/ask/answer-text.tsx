"use client";
// An answer with its citations as superscripts: hovering (or focusing) one shows the passage, clicking
// opens the wiki page at the cited block, or the app's document page when the source has no web address
// (see source-link.ts). **bold** and paragraphs are the only formatting rendered.
import { Fragment } from "react";
import { sourceLink, sourceLinkProps } from "./source-link";
import type { Source } from "./types";

function Citation({ n, source }: { n: number; source: Source | undefined }) {
  if (!source) return <sup>[{n}]</sup>;
  const label = [source.title, ...source.headingPath.filter((h) => h !== source.title)].join(" › ");
  return (
    <sup className="group relative mx-0.5 inline-block">
      <a
        {...sourceLinkProps(sourceLink(source))}
        data-testid="citation"
        data-n={n}
        aria-label={`Source ${n}: ${label}`}
        className="rounded bg-sky-100 px-1 font-semibold text-sky-800 no-underline hover:bg-sky-200 focus:outline-none focus:ring-2 focus:ring-sky-500 dark:bg-sky-900 dark:text-sky-100"
      >
        {n}
      </a>
      <span
        role="tooltip"
        data-testid="citation-passage"
        className="absolute bottom-full left-1/2 z-20 mb-2 hidden w-72 max-w-[min(18rem,calc(100vw-2rem))] -translate-x-1/2 rounded-md border border-zinc-200 bg-white p-3 text-left text-xs font-normal leading-relaxed text-zinc-800 shadow-lg group-hover:block group-focus-within:block dark:border-zinc-700 dark:bg-zinc-900 dark:text-zinc-100"
      >
        <strong className="mb-1 block text-zinc-900 dark:text-white">{label}</strong>
        {source.text.length > 600 ? `${source.text.slice(0, 600)}…` : source.text}
      </span>
    </sup>
  );
}

function Inline({ text, sources }: { text: string; sources: Source[] }) {
  const parts = text.split(/(\[\d+\]|\*\*[^*]+\*\*)/g);
  return (
    <>
      {parts.map((p, i) => {
        const cite = /^\[(\d+)\]$/.exec(p);
        if (cite) {
          const n = Number(cite[1]);
          return <Citation key={i} n={n} source={sources.find((s) => s.n === n)} />;
        }
        const bold = /^\*\*([^*]+)\*\*$/.exec(p);
        if (bold) return <strong key={i}>{bold[1]}</strong>;
        return <Fragment key={i}>{p}</Fragment>;
      })}
    </>
  );
}

export function AnswerText({ text, sources }: { text: string; sources: Source[] }) {
  const paragraphs = text.split(/\n{2,}/);
  return (
    <div className="min-w-0 space-y-3 leading-relaxed break-words" data-testid="answer-text">
      {paragraphs.map((p, i) => (
        <p key={i} className="whitespace-pre-wrap [overflow-wrap:anywhere]">
          <Inline text={p} sources={sources} />
        </p>
      ))}
    </div>
  );
}
