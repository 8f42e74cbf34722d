// What the Sources page and /api/sources show of a source: one shape for the page's props and the API's
// JSON, so times are ISO strings on both sides (a Date would arrive in the browser as a string anyway).
// Never secrets: only whether a token or webhook token is set. Import with `import type` from components.

/** An import job's progress: what the Sources page shows of a source's latest job while it runs. */
export interface ImportJobSummary {
  id: string;
  sourceId: string;
  kind: string;
  status: string;
  trigger: string;
  phase: string;
  found: number;
  done: number;
  failed: number;
  unchanged: number;
  removed: number;
  warnings: number;
  embeddedChunks: number;
  error: string | null;
  startedAt: string | null;
  finishedAt: string | null;
  createdAt: string;
}

/** One import job with the pages that failed and those imported with warnings (GET /api/import/{id}). */
export interface ImportJobView extends ImportJobSummary {
  failures: Array<{ externalId: string; title: string | null; error: string | null }>;
  /** Pages imported with something left out, or left alone, and why. */
  warningItems: Array<{ externalId: string; title: string | null; warning: string }>;
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
  latestJob: ImportJobSummary | null;
  /**
   * Notion sources: the sync state SOT's Notion sync agent keeps in its cubby (lib/ingest/notion-sync-state.ts);
   * `unreadable` says why it cannot be opened now (KES down, the cubby's key shredded, the agent disabled).
   */
  syncState: { state: NotionSyncStateView | null; unreadable: string | null } | null;
}

/** What the Notion sync agent keeps about a source between runs (no token, no page content). */
export interface NotionSyncStateView {
  lastSuccessfulSyncAt: string;
  jobId: string;
  jobKind: string;
  /** Pages the last import saw, changed, removed. */
  pagesSeen: number;
  pagesChanged: number;
  pagesRemoved: number;
  /** Live documents of the source after it. */
  pageCount: number;
  /** The newest Notion edit time among them: where an incremental pass starts. */
  highWaterMark: string | null;
}

/** One chunk of a document, as the document page shows it. */
export interface DocumentChunkView {
  id: string;
  position: number;
  headingPath: string[];
  anchor: string | null;
  /** The chunk's markdown. */
  text: string;
}

/** One document as the read-only document page (/documents/[id]) and the MCP get_document tool show it. */
export interface DocumentView {
  id: string;
  title: string;
  /** Parent pages, outermost first. */
  breadcrumb: string[];
  /** The original's address as stored (http(s), demo://, s3://) or null (uploads). */
  url: string | null;
  collectionId: string;
  collectionName: string;
  sourceKind: string;
  /** When the original last changed, as the source says (ISO time), if it says. */
  sourceUpdatedAt: string | null;
  /** The document's text, chunk by chunk in position order. */
  chunks: DocumentChunkView[];
}
