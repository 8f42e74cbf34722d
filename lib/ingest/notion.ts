// Notion as a source, through @notionhq/client v5 (API version 2025-09-03: data sources).
//
// Discovery: search finds what is shared with the integration, but misses pages only reachable by
// walking the tree, so every page is also expanded through its block children (child_page,
// child_database, and blocks that nest them such as toggles, columns and synced blocks), databases
// through their data sources, and data sources through their rows. Reading a page (markdown, unknown
// blocks, block-walk fallback, breadcrumbs, row properties) is notion-reader.ts; one reader per import
// fetches each object once. Every connection is held to NOTION_REQUESTS_PER_SECOND by a shared token
// bucket; the SDK retries 429 and 529 after Retry-After (and 500/503 on reads).
//
// What removes documents: only a walk of the whole source ("full", "reconcile"), and only pages Notion
// confirms are gone or outside the roots. Partial imports (pages, data sources, webhook syncs) add and
// update; deletion events are confirmed with Notion before anything is removed.
import { randomUUID } from "node:crypto";
import { Client, LogLevel } from "@notionhq/client";
import { getConfig } from "../config";
import { decryptSecret, encryptSecret, sourceSecretRef } from "../secrets";
import type { Db } from "../db/client";
import { NotFoundError, ValidationError } from "../errors";
import type { Llm } from "../llm";
import { log } from "../log";
import { requestBackfill } from "./backfill";
import { isWholeSourceWalk, type DiscoveredItem, type JobContextForDriver, type SourceDriver } from "./driver";
import { NotionReader, type NotionScope } from "./notion-reader";
import { ingestDocuments, softDeleteDocuments } from "./pipeline";
import { documentsLeftDataSource, documentsOfNotionParent } from "./queries";

export { cleanNotionMarkdown, NotionReader } from "./notion-reader";
export { pageTitle, readProperties } from "./notion-properties";

export const NOTION_VERSION = "2025-09-03";

export interface NotionSecrets {
  token: string;
  /** Set once Notion's subscription handshake delivered it. */
  webhookVerificationToken?: string;
}

export interface NotionSourceConfig {
  /** Roots to import; none = everything shared with the integration. */
  rootPageIds?: string[];
  dataSourceIds?: string[];
}

// ───────────────────────────── client and rate limit ─────────────────────────────

class TokenBucket {
  private tokens: number;
  private last = Date.now();
  private queue: Promise<void> = Promise.resolve();
  constructor(private readonly perSecond: number) {
    this.tokens = Math.max(1, perSecond);
  }
  take(): Promise<void> {
    // Serialise waiters so the bucket is fair and never goes negative.
    const next = this.queue.then(async () => {
      for (;;) {
        const now = Date.now();
        this.tokens = Math.min(Math.max(1, this.perSecond), this.tokens + ((now - this.last) / 1000) * this.perSecond);
        this.last = now;
        if (this.tokens >= 1) {
          this.tokens -= 1;
          return;
        }
        await new Promise((r) => setTimeout(r, Math.ceil(((1 - this.tokens) / this.perSecond) * 1000)));
      }
    });
    this.queue = next.catch(() => {});
    return next;
  }
}

const buckets = new Map<string, TokenBucket>();

/** A Notion client for one connection, rate limited per source across the process. */
export function notionClient(sourceId: string, token: string): Client {
  const config = getConfig();
  const key = `${sourceId}:${config.NOTION_REQUESTS_PER_SECOND}`;
  let bucket = buckets.get(key);
  if (!bucket) buckets.set(key, (bucket = new TokenBucket(config.NOTION_REQUESTS_PER_SECOND)));
  const limited = bucket;
  return new Client({
    auth: token,
    baseUrl: config.NOTION_API_URL,
    notionVersion: NOTION_VERSION,
    timeoutMs: 30_000,
    retry: { maxRetries: 5, initialRetryDelayMs: 500, maxRetryDelayMs: 30_000 },
    // The SDK's own console logging would bypass our JSON logs; keep only codes (never payloads).
    logLevel: LogLevel.WARN,
    logger: (level, message, extra) =>
      log(level === LogLevel.ERROR ? "error" : level === LogLevel.WARN ? "warn" : "debug", `notion: ${message}`, {
        sourceId,
        code: (extra as { code?: string })?.code,
        attempt: (extra as { attempt?: number })?.attempt,
      }),
    fetch: (async (url: string, init?: RequestInit) => {
      await limited.take();
      return fetch(url, init);
    }) as never,
  });
}

export async function readNotionSecrets(source: { id: string; secretCiphertext: string | null }): Promise<NotionSecrets> {
  if (!source.secretCiphertext) throw new ValidationError("This Notion source has no token; edit the source and add one.");
  return JSON.parse(await decryptSecret(source.secretCiphertext, sourceSecretRef(source.id))) as NotionSecrets;
}

export async function writeNotionSecrets(db: Db, sourceId: string, secrets: NotionSecrets): Promise<void> {
  await db.prisma.source.update({ where: { id: sourceId }, data: { secretCiphertext: await encryptSecret(JSON.stringify(secrets), sourceSecretRef(sourceId)) } });
}

export function normalizeNotionId(id: string): string {
  const hex = id.replace(/-/g, "").toLowerCase();
  const m = /([0-9a-f]{32})$/.exec(hex);
  if (!m) throw new ValidationError(`"${id}" is not a Notion id (32 hexadecimal digits, dashes optional).`);
  const h = m[1];
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

// ───────────────────────────── import driver ─────────────────────────────

/** The roots a source is limited to (none: everything shared with the integration). */
export function sourceScope(config: unknown): NotionScope {
  const cfg = (config ?? {}) as NotionSourceConfig;
  return { rootPageIds: cfg.rootPageIds ?? [], dataSourceIds: cfg.dataSourceIds ?? [] };
}

// One reader per run of a job (its cache lives as long as the run), shared by concurrent fetches.
const readers = new WeakMap<object, Promise<NotionReader>>();

function readerFor(ctx: JobContextForDriver): Promise<NotionReader> {
  let r = readers.get(ctx.job);
  if (!r) {
    r = readNotionSecrets(ctx.source).then((secrets) => new NotionReader(notionClient(ctx.source.id, secrets.token), sourceScope(ctx.source.config)));
    readers.set(ctx.job, r);
  }
  return r;
}

const pageItems = (id: string): DiscoveredItem[] => [
  { externalId: id, kind: "page" },
  { externalId: `page:${id}`, kind: "container" },
];

/** Confirmations in a row that may fail (Notion unreachable) before the rest are kept unconfirmed. */
const MAX_UNCONFIRMED_IN_A_ROW = 5;

export const notionDriver: SourceDriver = {
  concurrency: 3,
  async seeds(ctx) {
    const opts = ctx.job.options as { pageIds?: string[]; dataSourceIds?: string[] };
    // "pages": exactly these pages. "partial": these pages with what is beneath them, these data sources.
    if (ctx.job.kind === "pages") return (opts.pageIds ?? []).map((id) => ({ externalId: id, kind: "page" as const }));
    if (ctx.job.kind === "partial") {
      return [...(opts.pageIds ?? []).flatMap(pageItems), ...(opts.dataSourceIds ?? []).map((id) => ({ externalId: `ds:${id}`, kind: "container" as const }))];
    }
    // A whole-source walk: the configured roots, or everything shared with the integration.
    const scope = sourceScope(ctx.source.config);
    if (scope.rootPageIds.length === 0 && scope.dataSourceIds.length === 0) return [{ externalId: "search", kind: "container" }];
    return [...scope.rootPageIds.flatMap(pageItems), ...scope.dataSourceIds.map((id) => ({ externalId: `ds:${id}`, kind: "container" as const }))];
  },
  async expand(ctx, item) {
    const reader = await readerFor(ctx);
    const colon = item.externalId.indexOf(":");
    const kind = item.externalId === "search" ? "search" : item.externalId.slice(0, colon);
    const id = item.externalId.slice(colon + 1);
    const partial = !isWholeSourceWalk(ctx.job.kind);
    const out: DiscoveredItem[] = [];
    if (kind === "search") {
      let cursor: string | undefined;
      do {
        const res = await reader.client.search({ start_cursor: cursor, page_size: 100 });
        for (const r of res.results as Array<{ object: string; id: string; in_trash?: boolean; parent?: { type: string } }>) {
          if (r.in_trash) continue;
          reader.remember(r);
          // Rows are walked through their data source; a row's own sub-pages are not walked.
          if (r.object === "page") out.push(...(r.parent?.type === "data_source_id" ? [{ externalId: r.id, kind: "page" as const }] : pageItems(r.id)));
          else if (r.object === "data_source") out.push({ externalId: `ds:${r.id}`, kind: "container" });
        }
        cursor = res.has_more ? (res.next_cursor ?? undefined) : undefined;
      } while (cursor);
    } else if (kind === "page") {
      if (partial && reader.limited) {
        const page = await reader.page(id);
        if (page && (await reader.pageInScope(page)) !== true) throw new Error("outside the source's root pages and data sources: not walked");
      }
      out.push(...(await reader.discover(id)));
    } else if (kind === "db") {
      const db = await reader.database(id);
      if (!db) throw new Error("the database was not found (deleted, or not shared with the integration)");
      for (const ds of db.data_sources ?? []) out.push({ externalId: `ds:${ds.id}`, kind: "container" });
    } else if (kind === "ds") {
      if (partial && reader.limited && (await reader.dataSourceInScope(id)) !== true) throw new Error("outside the source's root pages and data sources: not walked");
      const rows = await reader.rows(id);
      if (!rows) throw new Error("the data source was not found (deleted, or not shared with the integration)");
      for (const r of rows) out.push({ externalId: r.id, kind: "page" });
    }
    return out;
  },
  async fetch(ctx, item) {
    return (await readerFor(ctx)).document(item.externalId, { requireScope: !isWholeSourceWalk(ctx.job.kind) });
  },
  /** The sync agent records the source's state in its cubby (never fails the import that succeeded). */
  async finished(ctx) {
    const { recordNotionSyncState } = await import("./notion-sync-state");
    await recordNotionSyncState(ctx.db, ctx.source.id, ctx.job.id);
  },
  /**
   * After a whole-source walk: every live document the walk did not see is asked for again, and removed
   * only when Notion confirms it is gone (not found, in the trash) or lies outside the source's roots.
   * A page under a root that failed to load is still there, so it stays.
   */
  async finalize(ctx, seen, failedContainers) {
    const reader = await readerFor(ctx);
    const seenIds = new Set(seen);
    const live = await ctx.db.prisma.document.findMany({ where: { sourceId: ctx.source.id, deletedAt: null }, select: { externalId: true } });
    const missing = live.map((d) => d.externalId).filter((id) => !seenIds.has(id));
    const gone: string[] = [];
    let unconfirmedInARow = 0;
    let kept = 0;
    for (const id of missing) {
      if (unconfirmedInARow >= MAX_UNCONFIRMED_IN_A_ROW) {
        kept++;
        continue;
      }
      try {
        const state = await reader.pageState(id);
        unconfirmedInARow = 0;
        if (state.state === "gone" || state.inScope === false) gone.push(id);
        else kept++;
      } catch (err) {
        unconfirmedInARow++;
        kept++;
        log("warn", "notion: could not confirm whether a page is gone; kept", { sourceId: ctx.source.id, pageId: id, error: (err as Error).message });
      }
    }
    if (kept) log("info", "notion: pages the walk did not see but Notion still has (or could not confirm) were kept", { sourceId: ctx.source.id, kept, failedContainers });
    return softDeleteDocuments(ctx.db, ctx.source.id, gone);
  },
};

// ───────────────────────────── sources and jobs ─────────────────────────────

export async function createNotionSource(
  db: Db,
  input: { collectionId: string; name: string; token: string; rootPageIds?: string[]; dataSourceIds?: string[] },
) {
  const collection = await db.prisma.collection.findUnique({ where: { id: input.collectionId } });
  if (!collection) throw new NotFoundError("Collection");
  const config: NotionSourceConfig = {
    rootPageIds: (input.rootPageIds ?? []).map(normalizeNotionId),
    dataSourceIds: (input.dataSourceIds ?? []).map(normalizeNotionId),
  };
  // The id is chosen here: the token is sealed for this very row (KES first: down, nothing is written).
  const id = randomUUID();
  const secretCiphertext = await encryptSecret(JSON.stringify({ token: input.token } satisfies NotionSecrets), sourceSecretRef(id));
  return db.prisma.source.create({
    data: {
      id,
      collectionId: input.collectionId,
      kind: "notion",
      name: input.name,
      config: config as object,
      secretCiphertext,
    },
    select: { id: true, name: true, kind: true, collectionId: true, config: true, createdAt: true },
  });
}

type SyncOptions = { llm?: Pick<Llm, "embed" | "models"> };
type NotionSource = { id: string; collectionId: string; config: unknown; secretCiphertext: string | null };

async function loadSource(db: Db, sourceId: string): Promise<{ source: NotionSource; reader: NotionReader }> {
  const source = await db.prisma.source.findUnique({ where: { id: sourceId } });
  if (!source || source.kind !== "notion") throw new NotFoundError("Notion source");
  const secrets = await readNotionSecrets(source);
  return { source, reader: new NotionReader(notionClient(source.id, secrets.token), sourceScope(source.config)) };
}

export type PageSyncStatus = "created" | "updated" | "unchanged" | "outside" | "gone";

async function syncPageWith(db: Db, source: NotionSource, reader: NotionReader, pageId: string, opts: SyncOptions): Promise<PageSyncStatus> {
  const result = await reader.document(pageId, { requireScope: true });
  // Add and update only: a page that is gone is removed by a confirmed deletion or a full sync.
  if ("deleted" in result) return "gone";
  if ("skipped" in result) return "outside";
  const { warnings, ...doc } = result;
  if (warnings?.length) log("warn", "notion: page imported with parts left out", { sourceId: source.id, pageId, warnings });
  const r = await ingestDocuments(db, { sourceId: source.id, collectionId: source.collectionId }, [doc], { llm: opts.llm });
  if (r.pendingChunks > 0) await requestBackfill();
  const outcome = r.outcomes[0]!;
  if (outcome.status === "failed") throw new Error(outcome.error);
  return outcome.status;
}

/**
 * Syncs one page now (webhooks): adds or updates it when it lies inside the source's roots. Never
 * removes anything: a page found gone is left to `removeConfirmedPage` (a deletion event) or a full sync.
 */
export async function syncNotionPage(db: Db, sourceId: string, pageId: string, opts: SyncOptions = {}): Promise<{ status: PageSyncStatus }> {
  const { source, reader } = await loadSource(db, sourceId);
  return { status: await syncPageWith(db, source, reader, pageId, opts) };
}

/**
 * A deletion event for a page: removes it only when Notion confirms it is gone (not found — deleted or
 * no longer shared — or in the trash). A page Notion still serves is synced instead (inside the roots)
 * or left alone; a page Notion could not be asked about throws, so the event is retried.
 */
export async function removeConfirmedPage(db: Db, sourceId: string, pageId: string, opts: SyncOptions = {}) {
  const { source, reader } = await loadSource(db, sourceId);
  const state = await reader.pageState(pageId);
  if (state.state === "gone") return { status: "deleted" as const, removed: await softDeleteDocuments(db, source.id, [pageId]) };
  if (state.inScope !== true) return { status: "outside" as const, removed: 0 };
  return { status: await syncPageWith(db, source, reader, pageId, opts), removed: 0 };
}

/**
 * Rows of a data source changed (webhook): re-lists its rows and syncs those edited since their last
 * import. A row that left the data source is removed only when Notion confirms it is gone; one that
 * moved elsewhere inside the roots is synced. Nothing happens for a data source outside the roots.
 */
export async function syncNotionDataSource(db: Db, sourceId: string, dataSourceId: string, opts: SyncOptions = {}, shared?: { source: NotionSource; reader: NotionReader }) {
  const { source, reader } = shared ?? (await loadSource(db, sourceId));
  if ((await reader.dataSourceInScope(dataSourceId)) !== true) return { status: "outside" as const, synced: 0, removed: 0 };
  const rows = await reader.rows(dataSourceId);
  // Not found: nothing to add or update; only a confirmed deletion event or a full sync removes its rows.
  if (!rows) return { status: "gone" as const, synced: 0, removed: 0 };
  const known = await db.prisma.document.findMany({
    where: { sourceId, externalId: { in: rows.map((r) => r.id) }, deletedAt: null },
    select: { externalId: true, sourceUpdatedAt: true },
  });
  const stamp = new Map(known.map((k) => [k.externalId, k.sourceUpdatedAt?.getTime() ?? 0]));
  const changed = rows.filter((r) => !stamp.has(r.id) || (r.last_edited_time && Date.parse(r.last_edited_time) > stamp.get(r.id)!));
  for (const r of changed) await syncPageWith(db, source, reader, r.id, opts);
  // Rows that left the data source: gone, or moved?
  const left = await documentsLeftDataSource(db.sql, sourceId, dataSourceId, rows.map((r) => r.id));
  const gone: string[] = [];
  for (const id of left) {
    const state = await reader.pageState(id);
    if (state.state === "gone") gone.push(id);
    else if (state.inScope === true) await syncPageWith(db, source, reader, id, opts);
  }
  const removed = await softDeleteDocuments(db, sourceId, gone);
  return { status: "synced" as const, synced: changed.length, removed };
}

/** A database changed (webhook): each of its data sources is synced. */
export async function syncNotionDatabase(db: Db, sourceId: string, databaseId: string, opts: SyncOptions = {}) {
  const shared = await loadSource(db, sourceId);
  if ((await shared.reader.databaseInScope(databaseId)) !== true) return { status: "outside" as const };
  const database = await shared.reader.database(databaseId);
  for (const ds of database?.data_sources ?? []) await syncNotionDataSource(db, sourceId, ds.id, opts, shared);
  return { status: database ? ("synced" as const) : ("gone" as const) };
}

/**
 * A deletion event for a data source or database: its rows are removed only when Notion confirms it is
 * gone (not found, or in the trash). One Notion still serves is synced instead.
 */
export async function removeConfirmedDataSource(db: Db, sourceId: string, id: string, kind: "data_source" | "database", opts: SyncOptions = {}) {
  const shared = await loadSource(db, sourceId);
  if (!(await shared.reader.dataSourceGone(id, kind))) {
    if (kind === "database") await syncNotionDatabase(db, sourceId, id, opts);
    else await syncNotionDataSource(db, sourceId, id, opts, shared);
    return { status: "still_there" as const, removed: 0 };
  }
  const externalIds = await documentsOfNotionParent(db.sql, sourceId, id, kind);
  return { status: "deleted" as const, removed: await softDeleteDocuments(db, sourceId, externalIds) };
}
