// What a source kind (Notion, S3, the demo wiki) implements to be imported as a job, declared here with
// no dependencies so that the drivers and the job runner (import-jobs.ts) both import it; the drivers
// themselves are wired in one place, SOURCE_DRIVERS in drivers.ts.
import type { Db } from "../db/client";
import type { SourceDocument } from "./pipeline";

export type ImportKind = "full" | "partial" | "pages" | "reconcile" | "s3_sync";

/** Kinds that walk the whole source: the only ones that may remove documents. */
const WHOLE_SOURCE_KINDS = new Set(["full", "reconcile", "s3_sync"]);
export function isWholeSourceWalk(kind: string): boolean {
  return WHOLE_SOURCE_KINDS.has(kind);
}
export type ItemKind = "page" | "container";

export interface DiscoveredItem {
  externalId: string;
  kind: ItemKind;
  title?: string | null;
  breadcrumb?: string[];
}

export type FetchResult =
  /** The page, with what was left out of it (an unreadable block) as warnings. */
  | (SourceDocument & { warnings?: string[] })
  /** Gone at the source (confirmed: not found, or in the trash). */
  | { deleted: true; externalId: string }
  /** Left alone, for the reason given (e.g. outside the source's roots). */
  | { skipped: true; externalId: string; warning: string };

export interface JobContextForDriver {
  db: Db;
  job: { id: string; kind: string; options: Record<string, unknown> };
  source: { id: string; collectionId: string; config: Record<string, unknown>; secretCiphertext: string | null };
}

/** What a source kind implements. */
export interface SourceDriver {
  /** Items a job starts from (roots). */
  seeds(ctx: JobContextForDriver): Promise<DiscoveredItem[]>;
  /** Lists a container's children. */
  expand(ctx: JobContextForDriver, item: DiscoveredItem): Promise<DiscoveredItem[]>;
  /** Fetches one page as a document (or reports it deleted at the source). */
  fetch(ctx: JobContextForDriver, item: DiscoveredItem): Promise<FetchResult>;
  /**
   * Runs after the fetch phase of a whole-source walk; returns documents removed. It is called even
   * when some containers could not be listed (`failedContainers` > 0): it must then remove only what
   * it confirms is gone.
   */
  finalize?(ctx: JobContextForDriver, seenPageIds: string[], failedContainers: number): Promise<number>;
  /** Runs once the job has succeeded (e.g. drops what the job had staged). */
  finished?(ctx: JobContextForDriver): Promise<void>;
  /** Pages fetched at once (bounded by the source's rate limit anyway). */
  concurrency?: number;
}
