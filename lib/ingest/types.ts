// What the Sources page and /api/sources show of a source: one shape for the page's props and the API's
// JSON, so times are ISO strings on both sides (a Date would arrive in the browser as a string anyway).
// Never secrets: only whether a token or webhook token is set. Import with `import type` from components.

/** A source's latest import job, as the Sources page shows it while it runs. */
export interface SourceJobView {
  id: string;
  kind: string;
  status: string;
  phase: string;
  found: number;
  done: number;
  failed: number;
  unchanged: number;
  removed: number;
  warnings: number;
  createdAt: string;
  finishedAt: string | null;
  error: string | null;
  /** Present on GET /api/import/{id}: the pages that failed, and the ones imported with warnings. */
  failures?: Array<{ externalId: string; title: string | null; error: string | null }>;
  warningItems?: Array<{ externalId: string; title: string | null; warning: string }>;
}

export interface SourceView {
  id: string;
  name: string;
  kind: string;
  collectionId: string;
  collectionName: string;
  status: string;
  lastSyncAt: string | null;
  lastError: string | null;
  documents: number;
  config: Record<string, unknown>;
  hasSecret: boolean;
  /** Notion sources: the webhook's state (never the token itself). */
  webhook: { verifiedAt: string | null; awaitingHandshakeUntil: string | null } | null;
  latestJob: SourceJobView | null;
}
