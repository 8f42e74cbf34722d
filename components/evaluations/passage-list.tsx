// The passages an answer was given, as the annotation queue shows them: title (a link only for http(s)
// addresses) and text.
import { WebLink } from "@/components/ui/web-link";

import type { PassageView } from "@/lib/evaluate/types";

export type Passage = PassageView;

export function PassageList({ passages }: { passages: Passage[] }) {
  return (
    <ol className="mt-1 space-y-2 text-sm" data-testid="passage-list">
      {passages.map((p, i) => (
        <li key={i} className="rounded border border-zinc-200 p-2 dark:border-zinc-800">
          <span className="font-medium">
            [{i + 1}] <WebLink url={p.url} className={p.url ? "underline" : undefined}>{p.title ?? p.url ?? "untitled"}</WebLink>
          </span>
          <p className="whitespace-pre-wrap text-zinc-600 dark:text-zinc-400">{p.text}</p>
        </li>
      ))}
    </ol>
  );
}
