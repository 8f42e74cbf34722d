// Every source kind that can be imported as a job, wired explicitly: adding one is one entry here (and
// its driver module implementing SourceDriver from driver.ts). Nothing registers itself on import.
import { demoDriver } from "./demo-driver";
import type { SourceDriver } from "./driver";
import { notionDriver } from "./notion";
import { s3Driver } from "./s3";
import { supabaseDriver } from "../supabase-import/driver";

export const SOURCE_DRIVERS = {
  notion: notionDriver,
  s3: s3Driver,
  /** The demo wiki: an "upload" source marked `demo` in its config, read from lib/ingest/demo-wiki. */
  demo: demoDriver,
  /** A move-in from Supabase: the old pages staged from the export (lib/supabase-import). */
  supabase: supabaseDriver,
} satisfies Record<string, SourceDriver>;

export type SourceDriverName = keyof typeof SOURCE_DRIVERS;

/** The driver name of a source: its kind, except the demo wiki (an upload source with `demo: true`). */
export function driverName(source: { kind: string; config: unknown }): string {
  const cfg = (source.config ?? {}) as { demo?: boolean };
  return source.kind === "upload" && cfg.demo ? "demo" : source.kind;
}

/** The driver that imports this source, or null for kinds that are not imported as jobs (uploads). */
export function driverFor(source: { kind: string; config: unknown }): SourceDriver | null {
  const name = driverName(source);
  return Object.hasOwn(SOURCE_DRIVERS, name) ? SOURCE_DRIVERS[name as SourceDriverName] : null;
}
