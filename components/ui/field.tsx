// A labelled form control: the label above, an optional hint below. `controlClass` is the one look of
// inputs, selects and text areas, so every form lines up the same way.
import type { ReactNode } from "react";

export const controlClass =
  "w-full min-w-0 rounded-md border border-zinc-300 bg-white px-2 py-1.5 text-sm text-zinc-900 focus:outline-none focus:ring-2 focus:ring-sky-500 dark:border-zinc-700 dark:bg-zinc-900 dark:text-zinc-100";

export function Field({ label, hint, children, className = "" }: { label: ReactNode; hint?: ReactNode; children: ReactNode; className?: string }) {
  return (
    <label className={`flex min-w-0 flex-col gap-1 text-sm ${className}`}>
      <span className="text-xs font-medium text-zinc-600 dark:text-zinc-400">{label}</span>
      {children}
      {hint && <span className="text-xs text-zinc-500">{hint}</span>}
    </label>
  );
}

/** Checkboxes and radios: the control first, the label beside it. */
export function CheckField({ children, className = "" }: { children: ReactNode; className?: string }) {
  return <label className={`inline-flex items-center gap-1.5 text-sm ${className}`}>{children}</label>;
}
