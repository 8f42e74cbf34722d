// Notion as a source, through @notionhq/client v5 (API version 2025-09-03: data sources).
//
// Discovery: search finds what is shared with the integration, but misses pages only reachable by
// walking the tree, so every page is also expanded through its block children (child_page,
// child_database, and blocks that nest them such as toggles and columns), databases through their
// data sources, and data sources through their rows. Content comes from the page-markdown endpoint,
// re-fetching the parts it lists in unknown_block_ids. Every connection is held to
// NOTION_REQUESTS_PER_SECOND by a shared token bucket; the SDK retries 429 and 529 after Retry-After.
import { Client, isNotionClientError, LogLevel } from "@notionhq/client";
import { getConfig } from "../config";
import { decryptSecret, encryptSecret } from "../crypto/secrets";
import type { Db } from "../db/client";
import { NotFoundError, ValidationError } from "../errors";
import type { Llm } from "../llm";
import { log } from "../log";
import {
  createImportJob,
  registerDriver,
  requestBackfill,
  type DiscoveredItem,
  type FetchResult,
  type JobContextForDriver,
  type SourceDriver,
} from "./import-jobs";
import { ingestDocuments, softDeleteDocuments, type SourceDocument } from "./pipeline";

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

export async function readNotionSecrets(source: { secretCiphertext: string | null }): Promise<NotionSecrets> {
  if (!source.secretCiphertext) throw new ValidationError("This Notion source has no token; edit the source and add one.");
  return JSON.parse(await decryptSecret(source.secretCiphertext)) as NotionSecrets;
}

export async function writeNotionSecrets(db: Db, sourceId: string, secrets: NotionSecrets): Promise<void> {
  await db.prisma.source.update({ where: { id: sourceId }, data: { secretCiphertext: await encryptSecret(JSON.stringify(secrets)) } });
}

export function normalizeNotionId(id: string): string {
  const hex = id.replace(/-/g, "").toLowerCase();
  const m = /([0-9a-f]{32})$/.exec(hex);
  if (!m) throw new ValidationError(`"${id}" is not a Notion id (32 hexadecimal digits, dashes optional).`);
  const h = m[1];
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

// ───────────────────────────── reading pages ─────────────────────────────

type AnyPage = {
  id: string;
  url?: string;
  in_trash?: boolean;
  archived?: boolean;
  last_edited_time?: string;
  parent?: { type: string; page_id?: string; data_source_id?: string; database_id?: string };
  properties?: Record<string, any>;
};

export function pageTitle(page: AnyPage): string {
  for (const prop of Object.values(page.properties ?? {})) {
    if (prop?.type === "title") return (prop.title ?? []).map((t: { plain_text: string }) => t.plain_text).join("").trim() || "Untitled";
  }
  return "Untitled";
}

/** Properties as plain values (what a person would read), for display and filtering. */
export function plainProperties(page: AnyPage): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, p] of Object.entries(page.properties ?? {})) {
    switch (p?.type) {
      case "title":
        break;
      case "rich_text":
        out[name] = (p.rich_text ?? []).map((t: { plain_text: string }) => t.plain_text).join("");
        break;
      case "select":
      case "status":
        out[name] = p[p.type]?.name ?? null;
        break;
      case "multi_select":
        out[name] = (p.multi_select ?? []).map((o: { name: string }) => o.name);
        break;
      case "date":
        out[name] = p.date?.start ?? null;
        break;
      case "number":
      case "checkbox":
      case "url":
      case "email":
      case "phone_number":
        out[name] = p[p.type] ?? null;
        break;
      case "people":
        out[name] = (p.people ?? []).map((u: { name?: string; id: string }) => u.name ?? u.id);
        break;
    }
  }
  return out;
}

/** Notion's enhanced markdown → plain markdown: page/database mentions become links, placeholders go. */
export function cleanNotionMarkdown(md: string): string {
  return md
    .replace(/<(page|database)\s+url="([^"]*)"[^>]*>([\s\S]*?)<\/\1>/g, (_m, _t, url, title) => `[${title.trim()}](${url})`)
    .replace(/<unknown\b[^>]*\/>/g, "")
    .replace(/\n{3,}/g, "\n\n")
    .trim();
}

export class NotionReader {
  private readonly pageCache = new Map<string, AnyPage | null>();
  constructor(readonly client: Client) {}

  async page(id: string): Promise<AnyPage | null> {
    if (this.pageCache.has(id)) return this.pageCache.get(id)!;
    try {
      const p = (await this.client.pages.retrieve({ page_id: id })) as AnyPage;
      this.pageCache.set(id, p);
      return p;
    } catch (err) {
      if (isNotionClientError(err) && (err as { code?: string }).code === "object_not_found") {
        this.pageCache.set(id, null);
        return null;
      }
      throw err;
    }
  }

  /** Titles of the parent chain, outermost first (at most 6 levels). */
  async breadcrumb(page: AnyPage): Promise<string[]> {
    const chain: string[] = [];
    let parent = page.parent;
    for (let depth = 0; parent && depth < 6; depth++) {
      if (parent.type === "page_id" && parent.page_id) {
        const p = await this.page(parent.page_id).catch(() => null);
        if (!p) break;
        chain.unshift(pageTitle(p));
        parent = p.parent;
      } else if (parent.type === "data_source_id" && parent.database_id) {
        const db = (await this.client.databases.retrieve({ database_id: parent.database_id }).catch(() => null)) as any;
        if (!db) break;
        chain.unshift(((db.title ?? []) as Array<{ plain_text: string }>).map((t) => t.plain_text).join("") || "Database");
        parent = db.parent;
      } else break;
    }
    return chain;
  }

  async markdown(pageId: string): Promise<string> {
    let res;
    try {
      res = await this.client.pages.retrieveMarkdown({ page_id: pageId });
    } catch (err) {
      // The markdown endpoint refuses some pages (and may be unavailable to an integration): render
      // the page from its blocks instead. Rate limits, outages and permissions are not retried here.
      if (isNotionClientError(err) && (err as { code?: string }).code === "validation_error") return this.blocksMarkdown(pageId);
      throw err;
    }
    let md = res.markdown;
    // Large pages come back truncated, listing the subtrees left out: fetch each and put it in place.
    for (const blockId of res.unknown_block_ids.slice(0, 100)) {
      const part = await this.client.pages.retrieveMarkdown({ page_id: blockId });
      const tag = new RegExp(`<unknown\\b[^>]*${blockId.replace(/-/g, "")}[^>]*/>`);
      md = tag.test(md) ? md.replace(tag, () => part.markdown) : `${md}\n\n${part.markdown}`;
    }
    return cleanNotionMarkdown(md);
  }

  /** A block walk rendered as markdown: the fallback when the markdown endpoint refuses a page. */
  async blocksMarkdown(blockId: string, depth = 0): Promise<string> {
    const out: string[] = [];
    let cursor: string | undefined;
    let numbered = 0;
    do {
      const res = await this.client.blocks.children.list({ block_id: blockId, start_cursor: cursor, page_size: 100 });
      for (const b of res.results as Array<Record<string, any>>) {
        numbered = b.type === "numbered_list_item" ? numbered + 1 : 0;
        const body = b[b.type] ?? {};
        const text = richText(body.rich_text);
        const children = b.has_children && depth < 4 && b.type !== "child_page" && b.type !== "child_database" && b.type !== "table"
          ? await this.blocksMarkdown(b.id, depth + 1)
          : "";
        const indent = (md: string) => md.split("\n").map((l) => (l ? `   ${l}` : l)).join("\n");
        switch (b.type) {
          case "heading_1":
          case "heading_2":
          case "heading_3":
            out.push(`${"#".repeat(Number(b.type.slice(-1)))} ${text}`, children);
            break;
          case "bulleted_list_item":
            out.push(`- ${text}` + (children ? `\n${indent(children)}` : ""));
            break;
          case "numbered_list_item":
            out.push(`${numbered}. ${text}` + (children ? `\n${indent(children)}` : ""));
            break;
          case "to_do":
            out.push(`- [${body.checked ? "x" : " "}] ${text}` + (children ? `\n${indent(children)}` : ""));
            break;
          case "quote":
          case "callout":
            out.push(`> ${text}`, children);
            break;
          case "code":
            out.push("```" + (body.language ?? "") + "\n" + text + "\n```");
            break;
          case "divider":
            out.push("---");
            break;
          case "table":
            out.push(await this.tableMarkdown(b.id, !!body.has_column_header));
            break;
          case "child_page":
            out.push(`[${body.title ?? "Untitled"}](https://www.notion.so/${String(b.id).replace(/-/g, "")})`);
            break;
          case "child_database":
            out.push(body.title ?? "");
            break;
          default:
            // paragraph, toggle, column_list, synced_block, …: their text, then their children.
            out.push(text, children);
        }
      }
      cursor = res.has_more ? (res.next_cursor ?? undefined) : undefined;
    } while (cursor);
    return out.filter((x) => x && x.trim()).join("\n\n");
  }

  private async tableMarkdown(tableId: string, header: boolean): Promise<string> {
    const rows: string[][] = [];
    let cursor: string | undefined;
    do {
      const res = await this.client.blocks.children.list({ block_id: tableId, start_cursor: cursor, page_size: 100 });
      for (const r of res.results as Array<Record<string, any>>) {
        if (r.type === "table_row") rows.push((r.table_row.cells as unknown[]).map((c) => richText(c).replace(/\|/g, "\\|")));
      }
      cursor = res.has_more ? (res.next_cursor ?? undefined) : undefined;
    } while (cursor);
    if (rows.length === 0) return "";
    const line = (cells: string[]) => `| ${cells.join(" | ")} |`;
    const head = header ? rows[0] : rows[0].map(() => "");
    const body = header ? rows.slice(1) : rows;
    return [line(head), line(head.map(() => "---")), ...body.map(line)].join("\n");
  }

  /** The page as a source document, or "deleted" when it is gone or in the trash. */
  async document(pageId: string): Promise<FetchResult> {
    const page = await this.page(pageId);
    if (!page || page.in_trash || page.archived) return { deleted: true, externalId: pageId };
    const properties = plainProperties(page);
    if (page.parent?.type === "data_source_id") {
      properties.notionDataSourceId = page.parent.data_source_id;
      properties.notionDatabaseId = page.parent.database_id;
    }
    const doc: SourceDocument = {
      externalId: page.id,
      title: pageTitle(page),
      url: page.url ?? null,
      breadcrumb: await this.breadcrumb(page),
      properties,
      markdown: await this.markdown(page.id),
      updatedAt: page.last_edited_time ? new Date(page.last_edited_time) : null,
    };
    return doc;
  }

  /** Child pages and databases of a page, looking inside toggles, columns and other nesting blocks. */
  async children(blockId: string, depth = 0): Promise<DiscoveredItem[]> {
    const out: DiscoveredItem[] = [];
    let cursor: string | undefined;
    do {
      const res = await this.client.blocks.children.list({ block_id: blockId, start_cursor: cursor, page_size: 100 });
      for (const b of res.results as Array<{ id: string; type: string; has_children?: boolean }>) {
        if (b.type === "child_page") out.push({ externalId: b.id, kind: "page" }, { externalId: `page:${b.id}`, kind: "container" });
        else if (b.type === "child_database") out.push({ externalId: `db:${b.id}`, kind: "container" });
        else if (b.has_children && depth < 3 && NESTING.has(b.type)) out.push(...(await this.children(b.id, depth + 1)));
      }
      cursor = res.has_more ? (res.next_cursor ?? undefined) : undefined;
    } while (cursor);
    return out;
  }
}

function richText(parts: unknown): string {
  return ((parts ?? []) as Array<{ plain_text?: string; href?: string | null; annotations?: { code?: boolean } }>)
    .map((t) => {
      const text = t.plain_text ?? "";
      const code = t.annotations?.code ? `\`${text}\`` : text;
      return t.href ? `[${code}](${t.href})` : code;
    })
    .join("");
}

// Blocks whose children can hold child pages or databases.
const NESTING = new Set(["toggle", "column_list", "column", "synced_block", "callout", "quote", "bulleted_list_item", "numbered_list_item", "to_do", "tab", "heading_1", "heading_2", "heading_3"]);

// ───────────────────────────── import driver ─────────────────────────────

const readers = new WeakMap<object, NotionReader>();

async function readerFor(ctx: JobContextForDriver): Promise<NotionReader> {
  let r = readers.get(ctx.job);
  if (!r) {
    const secrets = await readNotionSecrets(ctx.source);
    readers.set(ctx.job, (r = new NotionReader(notionClient(ctx.source.id, secrets.token))));
  }
  return r;
}

const notionDriver: SourceDriver = {
  concurrency: 3,
  async seeds(ctx) {
    const opts = ctx.job.options as { pageIds?: string[]; dataSourceIds?: string[] };
    if (ctx.job.kind === "pages") return (opts.pageIds ?? []).map((id) => ({ externalId: id, kind: "page" as const }));
    const cfg = ctx.source.config as NotionSourceConfig;
    const pageIds = opts.pageIds ?? cfg.rootPageIds ?? [];
    const dsIds = opts.dataSourceIds ?? cfg.dataSourceIds ?? [];
    if (pageIds.length === 0 && dsIds.length === 0) return [{ externalId: "search", kind: "container" }];
    return [
      ...pageIds.flatMap((id) => [
        { externalId: id, kind: "page" as const },
        { externalId: `page:${id}`, kind: "container" as const },
      ]),
      ...dsIds.map((id) => ({ externalId: `ds:${id}`, kind: "container" as const })),
    ];
  },
  async expand(ctx, item) {
    const reader = await readerFor(ctx);
    const [kind, id] = item.externalId === "search" ? ["search", ""] : [item.externalId.slice(0, item.externalId.indexOf(":")), item.externalId.slice(item.externalId.indexOf(":") + 1)];
    const out: DiscoveredItem[] = [];
    if (kind === "search") {
      let cursor: string | undefined;
      do {
        const res = await reader.client.search({ start_cursor: cursor, page_size: 100 });
        for (const r of res.results as Array<{ object: string; id: string; in_trash?: boolean }>) {
          if (r.in_trash) continue;
          if (r.object === "page") out.push({ externalId: r.id, kind: "page" }, { externalId: `page:${r.id}`, kind: "container" });
          else if (r.object === "data_source") out.push({ externalId: `ds:${r.id}`, kind: "container" });
        }
        cursor = res.has_more ? (res.next_cursor ?? undefined) : undefined;
      } while (cursor);
    } else if (kind === "page") {
      out.push(...(await reader.children(id)));
    } else if (kind === "db") {
      const db = (await reader.client.databases.retrieve({ database_id: id })) as { data_sources?: Array<{ id: string }> };
      for (const ds of db.data_sources ?? []) out.push({ externalId: `ds:${ds.id}`, kind: "container" });
    } else if (kind === "ds") {
      let cursor: string | undefined;
      do {
        const res = await reader.client.dataSources.query({ data_source_id: id, start_cursor: cursor, page_size: 100 });
        for (const r of res.results as Array<{ object: string; id: string }>) if (r.object === "page") out.push({ externalId: r.id, kind: "page" });
        cursor = res.has_more ? (res.next_cursor ?? undefined) : undefined;
      } while (cursor);
    }
    return out;
  },
  async fetch(ctx, item) {
    return (await readerFor(ctx)).document(item.externalId);
  },
};
registerDriver("notion", notionDriver);

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
  return db.prisma.source.create({
    data: {
      collectionId: input.collectionId,
      kind: "notion",
      name: input.name,
      config: config as object,
      secretCiphertext: await encryptSecret(JSON.stringify({ token: input.token } satisfies NotionSecrets)),
    },
    select: { id: true, name: true, kind: true, collectionId: true, config: true, createdAt: true },
  });
}

/** Starts an import of a Notion source: everything, or the given pages / data sources. */
export async function startNotionImport(
  db: Db,
  input: { sourceId: string; pageIds?: string[]; dataSourceIds?: string[]; trigger?: string },
): Promise<{ kind: "import_job"; id: string }> {
  const source = await db.prisma.source.findUnique({ where: { id: input.sourceId } });
  if (!source || source.kind !== "notion") throw new NotFoundError("Notion source");
  const options: Record<string, unknown> = {};
  if (input.pageIds?.length) options.pageIds = input.pageIds.map(normalizeNotionId);
  if (input.dataSourceIds?.length) options.dataSourceIds = input.dataSourceIds.map(normalizeNotionId);
  const { id } = await createImportJob(db, { sourceId: source.id, kind: "full", trigger: input.trigger ?? "manual", options });
  return { kind: "import_job", id };
}

/** Syncs one page now (webhooks): ingests it, or removes it when it is gone. */
export async function syncNotionPage(db: Db, sourceId: string, pageId: string, opts: { llm?: Pick<Llm, "embed" | "models"> } = {}) {
  const source = await db.prisma.source.findUnique({ where: { id: sourceId } });
  if (!source) throw new NotFoundError("Source");
  const secrets = await readNotionSecrets(source);
  const reader = new NotionReader(notionClient(source.id, secrets.token));
  const result = await reader.document(pageId);
  if ("deleted" in result) return { status: "deleted" as const, removed: await softDeleteDocuments(db, source.id, [pageId]) };
  const r = await ingestDocuments(db, { sourceId: source.id, collectionId: source.collectionId }, [result], { llm: opts.llm });
  if (r.pendingChunks > 0) await requestBackfill(db);
  const outcome = r.outcomes[0];
  if (outcome.status === "failed") throw new Error(outcome.error);
  return { status: outcome.status };
}

/** Rows of a data source changed (webhook): re-list rows, sync those edited since their last import. */
export async function syncNotionDataSource(db: Db, sourceId: string, dataSourceId: string, opts: { llm?: Pick<Llm, "embed" | "models"> } = {}) {
  const source = await db.prisma.source.findUnique({ where: { id: sourceId } });
  if (!source) throw new NotFoundError("Source");
  const secrets = await readNotionSecrets(source);
  const reader = new NotionReader(notionClient(source.id, secrets.token));
  const rows: Array<{ id: string; last_edited_time?: string }> = [];
  let cursor: string | undefined;
  try {
    do {
      const res = await reader.client.dataSources.query({ data_source_id: dataSourceId, start_cursor: cursor, page_size: 100 });
      rows.push(...(res.results as Array<{ id: string; object: string; last_edited_time?: string }>).filter((r) => r.object === "page"));
      cursor = res.has_more ? (res.next_cursor ?? undefined) : undefined;
    } while (cursor);
  } catch (err) {
    if (isNotionClientError(err) && (err as { code?: string }).code === "object_not_found") return removeDataSourceRows(db, sourceId, dataSourceId);
    throw err;
  }
  const known = await db.prisma.document.findMany({
    where: { sourceId, externalId: { in: rows.map((r) => r.id) }, deletedAt: null },
    select: { externalId: true, sourceUpdatedAt: true },
  });
  const stamp = new Map(known.map((k) => [k.externalId, k.sourceUpdatedAt?.getTime() ?? 0]));
  const changed = rows.filter((r) => !stamp.has(r.id) || (r.last_edited_time && Date.parse(r.last_edited_time) > stamp.get(r.id)!));
  for (const r of changed) await syncNotionPage(db, sourceId, r.id, opts);
  // Rows that left the data source.
  const gone = await db.prisma.$queryRaw<Array<{ external_id: string }>>`
    SELECT external_id FROM documents WHERE source_id = ${sourceId}::uuid AND deleted_at IS NULL
      AND properties->>'notionDataSourceId' = ${dataSourceId} AND NOT (external_id = ANY(${rows.map((r) => r.id)}::text[]))`;
  const removed = await softDeleteDocuments(db, sourceId, gone.map((g) => g.external_id));
  return { status: "synced" as const, synced: changed.length, removed };
}

export async function removeDataSourceRows(db: Db, sourceId: string, dataSourceId: string) {
  const rows = await db.prisma.$queryRaw<Array<{ external_id: string }>>`
    SELECT external_id FROM documents WHERE source_id = ${sourceId}::uuid AND deleted_at IS NULL
      AND (properties->>'notionDataSourceId' = ${dataSourceId} OR properties->>'notionDatabaseId' = ${dataSourceId})`;
  return { status: "deleted" as const, removed: await softDeleteDocuments(db, sourceId, rows.map((r) => r.external_id)) };
}
