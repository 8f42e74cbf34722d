"use client";
// The app's one table: headers that sort (click, or Enter on the focused header), an empty state, a
// loading state, and a horizontal scroll of its own on a narrow screen (the page never scrolls sideways).
// Rows carry ready-rendered cells, so server pages can pass them too (functions cannot cross to the client).
import { useMemo, useState, type ReactNode } from "react";
import { SortIcon } from "./icons";

export interface TableColumn {
  header: ReactNode;
  /** Sort by this column's `sort` values (rows without one sort last). */
  sortable?: boolean;
  align?: "left" | "right";
  /** Hide the header text (action columns), keeping it for screen readers. */
  srOnly?: boolean;
  className?: string;
}

export interface TableRow {
  key: string;
  cells: ReactNode[];
  /** Sort values by column index (dates as ISO strings or numbers). */
  sort?: Array<string | number | null | undefined>;
  /** data-* attributes and the like for tests and styling. */
  attrs?: Record<string, string | undefined>;
  /** Highlights the row (a regression, a failure). */
  highlight?: boolean;
}

export function Table({
  columns,
  rows,
  empty = "Nothing here yet.",
  loading = false,
  initialSort,
  testId,
  caption,
}: {
  columns: TableColumn[];
  rows: TableRow[];
  empty?: ReactNode;
  loading?: boolean;
  initialSort?: { column: number; direction: "asc" | "desc" };
  testId?: string;
  caption?: string;
}) {
  const [sort, setSort] = useState(initialSort ?? null);
  const sorted = useMemo(() => {
    if (!sort) return rows;
    const dir = sort.direction === "asc" ? 1 : -1;
    return [...rows].sort((a, b) => {
      const x = a.sort?.[sort.column];
      const y = b.sort?.[sort.column];
      if (x == null && y == null) return 0;
      if (x == null) return 1;
      if (y == null) return -1;
      if (typeof x === "number" && typeof y === "number") return (x - y) * dir;
      return String(x).localeCompare(String(y), undefined, { numeric: true }) * dir;
    });
  }, [rows, sort]);

  const toggle = (column: number) =>
    setSort((s) => (s?.column === column ? { column, direction: s.direction === "asc" ? "desc" : "asc" } : { column, direction: "asc" }));

  if (!loading && rows.length === 0) {
    return (
      <p className="rounded-md border border-dashed border-zinc-300 px-3 py-4 text-center text-sm text-zinc-500 dark:border-zinc-700" data-testid={testId ? `${testId}-empty` : undefined}>
        {empty}
      </p>
    );
  }
  return (
    <div className="relative max-w-full overflow-x-auto rounded-md border border-zinc-200 dark:border-zinc-800" data-table-scroll>
      <table className="w-full text-left text-sm" data-testid={testId} aria-busy={loading || undefined}>
        {caption && <caption className="sr-only">{caption}</caption>}
        <thead className="bg-zinc-50 text-xs text-zinc-600 uppercase dark:bg-zinc-900 dark:text-zinc-400">
          <tr>
            {columns.map((c, i) => {
              const direction = sort?.column === i ? sort.direction : null;
              return (
                <th
                  key={i}
                  scope="col"
                  aria-sort={c.sortable ? (direction === "asc" ? "ascending" : direction === "desc" ? "descending" : "none") : undefined}
                  className={`px-3 py-2 font-medium whitespace-nowrap ${c.align === "right" ? "text-right" : ""} ${c.className ?? ""}`}
                >
                  {c.srOnly ? (
                    <span className="sr-only">{c.header}</span>
                  ) : c.sortable ? (
                    <button type="button" onClick={() => toggle(i)} className="inline-flex items-center gap-1 uppercase hover:text-zinc-900 dark:hover:text-zinc-100">
                      {c.header}
                      <SortIcon sortOrder={direction} />
                    </button>
                  ) : (
                    c.header
                  )}
                </th>
              );
            })}
          </tr>
        </thead>
        <tbody>
          {loading && rows.length === 0 ? (
            <tr>
              <td colSpan={columns.length} className="px-3 py-4 text-center text-zinc-500">
                <span className="animate-pulse">Loading…</span>
              </td>
            </tr>
          ) : (
            sorted.map((r) => (
              <tr key={r.key} className={`border-t border-zinc-200 align-top dark:border-zinc-800 ${r.highlight ? "bg-red-50 dark:bg-red-950/30" : ""}`} {...r.attrs}>
                {r.cells.map((cell, i) => (
                  <td key={i} className={`px-3 py-2 ${columns[i]?.align === "right" ? "text-right" : ""} ${columns[i]?.className ?? ""}`}>
                    {cell}
                  </td>
                ))}
              </tr>
            ))
          )}
        </tbody>
      </table>
    </div>
  );
}
