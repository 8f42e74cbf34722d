// Reading Notion for one import (or one webhook flush): pages, blocks, databases, data sources and people
// through @notionhq/client, each fetched at most once — a per-reader cache with single-flight, so that
// concurrent fetches of one object share one request, and objects that come with a listing (search
// results, data source rows, block children) are never asked for again.
//
// What it makes of them:
// - a page as a source document: markdown from the page-markdown endpoint with its unknown blocks
//   fetched and put in place (an unreadable one becomes a short placeholder and a warning); when the
//   endpoint fails (after the client's retries) the page is rendered from a block walk instead, and only
//   a page that cannot be read at all fails;
// - the breadcrumb, following parents through blocks (toggles, columns, synced blocks) up to pages and
//   databases;
// - row properties as `Name: value` lines and plain values (notion-properties.ts);
// - whether a page or data source lies inside the source's configured roots, and whether a page is
//   really gone (not found, or in the trash) before anything is removed.
import { isNotionClientError, type Client } from "@notionhq/client";
import { log } from "../log";
import type { DiscoveredItem, FetchResult } from "./driver";
import { pageTitle, propertiesMarkdown, readProperties } from "./notion-properties";
import type { SourceDocument } from "./pipeline";

export type NotionParent =
  | { type: "workspace"; workspace?: boolean }
  | { type: "page_id"; page_id: string }
  | { type: "block_id"; block_id: string }
  | { type: "database_id"; database_id: string }
  | { type: "data_source_id"; data_source_id: string; database_id?: string };

export interface NotionPage {
  object?: string;
  id: string;
  url?: string;
  in_trash?: boolean;
  archived?: boolean;
  last_edited_time?: string;
  parent?: NotionParent;
  properties?: Record<string, any>;
}

export interface NotionBlock {
  object?: string;
  id: string;
  type: string;
  parent?: NotionParent;
  has_children?: boolean;
  in_trash?: boolean;
  archived?: boolean;
  [key: string]: any;
}

interface NotionDatabase {
  id: string;
  title?: Array<{ plain_text?: string }>;
  parent?: NotionParent;
  data_sources?: Array<{ id: string; name?: string }>;
  in_trash?: boolean;
  archived?: boolean;
}

interface NotionDataSource {
  object?: string;
  id: string;
  title?: Array<{ plain_text?: string }>;
  parent?: { type: "database_id"; database_id: string };
  in_trash?: boolean;
  archived?: boolean;
}

/** The roots a source is limited to; both empty: everything shared with the integration. */
export interface NotionScope {
  rootPageIds: string[];
  dataSourceIds: string[];
}

/** Where a page stands: gone (not found, or in the trash), or live and inside / outside the roots. */
export type PageState = { state: "gone" } | { state: "live"; inScope: boolean | "unknown"; page: NotionPage };

const key = (id: string) => id.replace(/-/g, "").toLowerCase();
const titleText = (t: Array<{ plain_text?: string }> | undefined) => (t ?? []).map((x) => x.plain_text ?? "").join("").trim();
const errorCode = (err: unknown) => (isNotionClientError(err) ? String((err as { code?: string }).code ?? "error") : (err as Error)?.name || "error");
const isNotFound = (err: unknown) => isNotionClientError(err) && (err as { code?: string }).code === "object_not_found";

/** Promises by id: one request per object, shared by whoever asks while it is under way. */
class Memo<V> {
  private readonly values = new Map<string, Promise<V>>();
  get(id: string, load: () => Promise<V>): Promise<V> {
    const k = key(id);
    let p = this.values.get(k);
    if (!p) {
      const loading = load();
      this.values.set(k, loading);
      // A failure is not remembered: a later call asks again.
      loading.catch(() => {
        if (this.values.get(k) === loading) this.values.delete(k);
      });
      p = loading;
    }
    return p;
  }
  put(id: string, value: V): void {
    this.values.set(key(id), Promise.resolve(value));
  }
}

// Blocks whose children can hold child pages or databases.
const NESTING = new Set([
  "toggle",
  "column_list",
  "column",
  "synced_block",
  "callout",
  "quote",
  "bulleted_list_item",
  "numbered_list_item",
  "to_do",
  "tab",
  "heading_1",
  "heading_2",
  "heading_3",
]);
/** Unknown blocks fetched per page at most; the rest become placeholders. */
const MAX_UNKNOWN_PARTS = 100;
const MAX_ANCESTRY_HOPS = 32;
const BREADCRUMB_LEVELS = 6;

/** What stands in for a part of a page the integration cannot read. */
export function unreadablePlaceholder(url: string | null): string {
  return url ? `[Part of this page could not be read: open it in Notion](${url})` : "(Part of this page could not be read.)";
}

/** Notion's enhanced markdown → plain markdown: page/database mentions become links, placeholders go. */
export function cleanNotionMarkdown(md: string): string {
  return md
    .replace(/<(page|database)\s+url="([^"]*)"[^>]*>([\s\S]*?)<\/\1>/g, (_m, _t, url, title) => `[${title.trim()}](${url})`)
    .replace(/<unknown\b[^>]*\/>/g, "")
    .replace(/\n{3,}/g, "\n\n")
    .trim();
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

const notionUrl = (id: string) => `https://www.notion.so/${key(id)}`;

export class NotionReader {
  private readonly pages = new Memo<NotionPage | null>();
  private readonly blocks = new Memo<NotionBlock | null>();
  private readonly databases = new Memo<NotionDatabase | null>();
  private readonly dataSources = new Memo<NotionDataSource | null>();
  private readonly users = new Memo<string | null>();
  private readonly childLists = new Memo<NotionBlock[]>();
  private readonly roots: Set<string>;

  constructor(
    readonly client: Client,
    readonly scope: NotionScope = { rootPageIds: [], dataSourceIds: [] },
  ) {
    this.roots = new Set([...scope.rootPageIds, ...scope.dataSourceIds].map(key));
  }

  /** True when the source is limited to configured roots. */
  get limited(): boolean {
    return this.roots.size > 0;
  }

  // ─────────────── objects, once each ───────────────

  /** A page, or null when Notion does not know it (deleted, or not shared with the integration). */
  page(id: string): Promise<NotionPage | null> {
    return this.pages.get(id, async () => {
      try {
        return (await this.client.pages.retrieve({ page_id: id })) as NotionPage;
      } catch (err) {
        if (isNotFound(err)) return null;
        throw err;
      }
    });
  }

  block(id: string): Promise<NotionBlock | null> {
    return this.blocks.get(id, async () => {
      try {
        return (await this.client.blocks.retrieve({ block_id: id })) as NotionBlock;
      } catch (err) {
        if (isNotFound(err)) return null;
        throw err;
      }
    });
  }

  database(id: string): Promise<NotionDatabase | null> {
    return this.databases.get(id, async () => {
      try {
        return (await this.client.databases.retrieve({ database_id: id })) as NotionDatabase;
      } catch (err) {
        if (isNotFound(err)) return null;
        throw err;
      }
    });
  }

  dataSource(id: string): Promise<NotionDataSource | null> {
    return this.dataSources.get(id, async () => {
      try {
        return (await this.client.dataSources.retrieve({ data_source_id: id })) as NotionDataSource;
      } catch (err) {
        if (isNotFound(err)) return null;
        throw err;
      }
    });
  }

  /** A person's name (people properties that carry only an id), or null. */
  userName(id: string): Promise<string | null> {
    return this.users.get(id, async () => {
      try {
        return ((await this.client.users.retrieve({ user_id: id })) as { name?: string | null }).name ?? null;
      } catch (err) {
        if (isNotionClientError(err)) return null;
        throw err;
      }
    });
  }

  /** Objects that came with a listing: kept, so that nobody asks for them again. */
  remember(obj: { object?: string; id: string }): void {
    if (obj.object === "page") this.pages.put(obj.id, obj as NotionPage);
    else if (obj.object === "data_source") this.dataSources.put(obj.id, obj as NotionDataSource);
    else if (obj.object === "block") this.blocks.put(obj.id, obj as NotionBlock);
  }

  /** Every child block of a block or page (all result pages); each child is remembered. */
  children(blockId: string): Promise<NotionBlock[]> {
    return this.childLists.get(blockId, async () => {
      const out: NotionBlock[] = [];
      let cursor: string | undefined;
      do {
        const res = await this.client.blocks.children.list({ block_id: blockId, start_cursor: cursor, page_size: 100 });
        for (const b of res.results as NotionBlock[]) {
          this.remember({ ...b, object: "block" });
          out.push(b);
        }
        cursor = res.has_more ? (res.next_cursor ?? undefined) : undefined;
      } while (cursor);
      return out;
    });
  }

  /** Every row of a data source (page objects, remembered). Null when the data source is not found. */
  async rows(dataSourceId: string): Promise<NotionPage[] | null> {
    const out: NotionPage[] = [];
    let cursor: string | undefined;
    try {
      do {
        const res = await this.client.dataSources.query({ data_source_id: dataSourceId, start_cursor: cursor, page_size: 100 });
        for (const r of res.results as NotionPage[]) {
          if (r.object !== "page") continue;
          this.remember(r);
          out.push(r);
        }
        cursor = res.has_more ? (res.next_cursor ?? undefined) : undefined;
      } while (cursor);
    } catch (err) {
      if (isNotFound(err)) return null;
      throw err;
    }
    return out;
  }

  // ─────────────── where things are ───────────────

  /**
   * The chain of parents above `parent`, nearest first, through blocks (toggles, columns, synced
   * blocks), pages, databases and data sources. `complete` says it reached the workspace; a parent
   * that cannot be read (not shared, or an error) ends it early.
   */
  async ancestry(parent: NotionParent | undefined): Promise<{ chain: Array<{ kind: "page" | "block" | "database" | "data_source"; id: string; title?: string }>; complete: boolean }> {
    const chain: Array<{ kind: "page" | "block" | "database" | "data_source"; id: string; title?: string }> = [];
    let at: NotionParent | undefined = parent;
    try {
      for (let hop = 0; at && hop < MAX_ANCESTRY_HOPS; hop++) {
        if (at.type === "workspace") return { chain, complete: true };
        if (at.type === "page_id") {
          const p = await this.page(at.page_id);
          if (!p) break;
          chain.push({ kind: "page", id: p.id, title: pageTitle(p) });
          at = p.parent;
        } else if (at.type === "block_id") {
          const b = await this.block(at.block_id);
          if (!b) break;
          // A block can be a page (child_page) or database (child_database) in block form.
          if (b.type === "child_page") chain.push({ kind: "page", id: b.id, title: b.child_page?.title ?? "Untitled" });
          else if (b.type === "child_database") chain.push({ kind: "database", id: b.id, title: b.child_database?.title ?? "Database" });
          else chain.push({ kind: "block", id: b.id });
          at = b.parent;
        } else if (at.type === "data_source_id") {
          chain.push({ kind: "data_source", id: at.data_source_id });
          if (at.database_id) at = { type: "database_id", database_id: at.database_id };
          else {
            const ds = await this.dataSource(at.data_source_id);
            if (!ds?.parent) break;
            at = ds.parent;
          }
        } else if (at.type === "database_id") {
          const d = await this.database(at.database_id);
          if (!d) break;
          chain.push({ kind: "database", id: d.id, title: titleText(d.title) || "Database" });
          at = d.parent;
        } else break;
      }
    } catch (err) {
      log("debug", "notion: a parent could not be read", { code: errorCode(err) });
    }
    return { chain, complete: false };
  }

  /** Titles of the pages and databases above, outermost first (the nearest few levels). */
  breadcrumb(ancestry: { chain: Array<{ kind: string; title?: string }> }): string[] {
    return ancestry.chain
      .filter((a) => a.kind === "page" || a.kind === "database")
      .map((a) => a.title ?? "Untitled")
      .slice(0, BREADCRUMB_LEVELS)
      .reverse();
  }

  /** Is something with these ids and parents inside the configured roots? "unknown": a parent was unreadable. */
  private inRoots(selfId: string, ancestry: { chain: Array<{ id: string }>; complete: boolean }): boolean | "unknown" {
    if (!this.limited) return true;
    if (this.roots.has(key(selfId)) || ancestry.chain.some((a) => this.roots.has(key(a.id)))) return true;
    return ancestry.complete ? false : "unknown";
  }

  async pageInScope(page: NotionPage): Promise<boolean | "unknown"> {
    if (!this.limited) return true;
    return this.inRoots(page.id, await this.ancestry(page.parent));
  }

  async dataSourceInScope(dataSourceId: string): Promise<boolean | "unknown"> {
    if (!this.limited || this.roots.has(key(dataSourceId))) return true;
    return this.inRoots(dataSourceId, await this.ancestry({ type: "data_source_id", data_source_id: dataSourceId }));
  }

  async databaseInScope(databaseId: string): Promise<boolean | "unknown"> {
    if (!this.limited || this.roots.has(key(databaseId))) return true;
    const db = await this.database(databaseId);
    if (db?.data_sources?.some((ds) => this.roots.has(key(ds.id)))) return true;
    return this.inRoots(databaseId, await this.ancestry({ type: "database_id", database_id: databaseId }));
  }

  /**
   * Asks Notion where a page stands, without trusting any cached copy: gone (not found — deleted, or no
   * longer shared — or in the trash), or live. Other errors are thrown: nothing is confirmed then.
   */
  async pageState(pageId: string): Promise<PageState> {
    let page: NotionPage;
    try {
      page = (await this.client.pages.retrieve({ page_id: pageId })) as NotionPage;
    } catch (err) {
      if (isNotFound(err)) return { state: "gone" };
      throw err;
    }
    if (page.in_trash || page.archived) return { state: "gone" };
    this.pages.put(page.id, page);
    return { state: "live", inScope: await this.pageInScope(page), page };
  }

  /** Whether a data source (or database) is gone: not found, or in the trash. Errors are thrown. */
  async dataSourceGone(id: string, kind: "data_source" | "database"): Promise<boolean> {
    try {
      const obj =
        kind === "data_source"
          ? ((await this.client.dataSources.retrieve({ data_source_id: id })) as NotionDataSource)
          : ((await this.client.databases.retrieve({ database_id: id })) as NotionDatabase);
      return !!(obj.in_trash || obj.archived);
    } catch (err) {
      if (isNotFound(err)) return true;
      throw err;
    }
  }

  // ─────────────── discovery ───────────────

  /** Child pages and databases of a page, looking inside toggles, columns, synced blocks and other nesting blocks. */
  async discover(blockId: string, depth = 0): Promise<DiscoveredItem[]> {
    const out: DiscoveredItem[] = [];
    for (const b of await this.children(blockId)) {
      if (b.type === "child_page") out.push({ externalId: b.id, kind: "page" }, { externalId: `page:${b.id}`, kind: "container" });
      else if (b.type === "child_database") out.push({ externalId: `db:${b.id}`, kind: "container" });
      else if (depth < 4 && b.type === "synced_block" && b.synced_block?.synced_from?.block_id) {
        // A copy of a synced block: its content lives under the original, which may not be shared.
        out.push(...(await this.discover(b.synced_block.synced_from.block_id, depth + 1).catch(() => [])));
      } else if (b.has_children && depth < 4 && NESTING.has(b.type)) out.push(...(await this.discover(b.id, depth + 1)));
    }
    return out;
  }

  // ─────────────── content ───────────────

  /**
   * The page's markdown. Parts the endpoint left out are fetched and put in place; a part that cannot
   * be read becomes a placeholder (with its link) and a warning. When the endpoint itself fails after
   * the client's retries (400, 403, 404, 500…), the page is rendered from its blocks.
   */
  async markdown(pageId: string, warnings: string[]): Promise<string> {
    let res: { markdown: string; unknown_block_ids?: string[] };
    try {
      res = await this.client.pages.retrieveMarkdown({ page_id: pageId });
    } catch (err) {
      log("info", "notion: the markdown endpoint failed; rendering the page from its blocks", { pageId, code: errorCode(err) });
      try {
        return await this.blocksMarkdown(pageId, warnings);
      } catch (walkErr) {
        throw new Error(`The page could not be read: the markdown endpoint answered ${errorCode(err)}, its blocks ${errorCode(walkErr)} (${(walkErr as Error).message}).`);
      }
    }
    const budget = { left: MAX_UNKNOWN_PARTS };
    const md = await this.fillUnknownParts(res, warnings, budget, 0);
    return cleanNotionMarkdown(md);
  }

  private async fillUnknownParts(res: { markdown: string; unknown_block_ids?: string[] }, warnings: string[], budget: { left: number }, depth: number): Promise<string> {
    let md = res.markdown;
    for (const blockId of res.unknown_block_ids ?? []) {
      // The tag names the block in its url, with or without dashes.
      const tag = new RegExp(`<unknown\\b[^>]*${key(blockId).split("").join("-?")}[^>]*/>`, "i");
      const found = tag.exec(md);
      const url = found ? (/\burl="([^"]*)"/.exec(found[0])?.[1] ?? null) : null;
      let part: string;
      if (budget.left <= 0 || depth >= 3) {
        part = unreadablePlaceholder(url);
        warnings.push(`part ${blockId} was not fetched (more than ${MAX_UNKNOWN_PARTS} parts)`);
      } else {
        budget.left--;
        try {
          const sub = await this.client.pages.retrieveMarkdown({ page_id: blockId });
          part = await this.fillUnknownParts(sub, warnings, budget, depth + 1);
        } catch (err) {
          part = unreadablePlaceholder(url);
          warnings.push(`part ${blockId} could not be read (${errorCode(err)})`);
        }
      }
      md = found ? md.replace(found[0], () => part) : `${md}\n\n${part}`;
    }
    // Placeholders the response left without listing them: say so rather than drop them silently.
    return md.replace(/<unknown\b[^>]*\/>/g, (tag) => {
      warnings.push("a part of the page was not rendered by Notion");
      return unreadablePlaceholder(/\burl="([^"]*)"/.exec(tag)?.[1] ?? null);
    });
  }

  /** A block walk rendered as markdown: the fallback when the markdown endpoint fails. */
  async blocksMarkdown(blockId: string, warnings: string[], depth = 0): Promise<string> {
    const out: string[] = [];
    let numbered = 0;
    const blocks = await this.children(blockId); // at the top, an error means the page cannot be read
    for (const b of blocks) {
      numbered = b.type === "numbered_list_item" ? numbered + 1 : 0;
      const body = b[b.type] ?? {};
      const text = richText(body.rich_text);
      const nestedId = b.type === "synced_block" && body.synced_from?.block_id ? body.synced_from.block_id : b.id;
      const hasNested = (b.has_children || nestedId !== b.id) && b.type !== "child_page" && b.type !== "child_database" && b.type !== "table";
      let children = "";
      if (hasNested && depth < 6) {
        try {
          children = await this.blocksMarkdown(nestedId, warnings, depth + 1);
        } catch (err) {
          children = unreadablePlaceholder(null);
          warnings.push(`the content of a ${b.type} block (${b.id}) could not be read (${errorCode(err)})`);
        }
      }
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
        case "equation":
          out.push(`$$${body.expression ?? ""}$$`);
          break;
        case "divider":
          out.push("---");
          break;
        case "table":
          try {
            out.push(await this.tableMarkdown(b.id, !!body.has_column_header));
          } catch (err) {
            out.push(unreadablePlaceholder(null));
            warnings.push(`a table (${b.id}) could not be read (${errorCode(err)})`);
          }
          break;
        case "child_page":
          out.push(`[${body.title ?? "Untitled"}](${notionUrl(b.id)})`);
          break;
        case "child_database":
          out.push(body.title ?? "");
          break;
        case "link_to_page": {
          const target = body.page_id ?? body.database_id;
          if (target) out.push(`[Linked page](${notionUrl(target)})`);
          break;
        }
        case "bookmark":
        case "embed":
        case "link_preview":
          if (body.url) out.push(`[${richText(body.caption) || body.url}](${body.url})`);
          break;
        case "image":
        case "file":
        case "pdf":
        case "video":
        case "audio":
          if (richText(body.caption)) out.push(richText(body.caption));
          break;
        case "unsupported":
          out.push(unreadablePlaceholder(null));
          warnings.push(`a block Notion's API does not support (${b.id}) was left out`);
          break;
        default:
          // paragraph, toggle, column_list, column, synced_block, …: their text, then their children.
          out.push(text, children);
      }
    }
    return out.filter((x) => x && x.trim()).join("\n\n");
  }

  private async tableMarkdown(tableId: string, header: boolean): Promise<string> {
    const rows: string[][] = [];
    for (const r of await this.children(tableId)) {
      if (r.type === "table_row") rows.push((r.table_row.cells as unknown[]).map((c) => richText(c).replace(/\|/g, "\\|")));
    }
    if (rows.length === 0) return "";
    const line = (cells: string[]) => `| ${cells.join(" | ")} |`;
    const head = header ? rows[0]! : rows[0]!.map(() => "");
    const body = header ? rows.slice(1) : rows;
    return [line(head), line(head.map(() => "---")), ...body.map(line)].join("\n");
  }

  /**
   * The page as a source document (with warnings for what was left out), "deleted" when it is gone or
   * in the trash, or "skipped" when `requireScope` and it lies outside the source's roots.
   */
  async document(pageId: string, opts: { requireScope?: boolean } = {}): Promise<FetchResult> {
    const page = await this.page(pageId);
    if (!page || page.in_trash || page.archived) return { deleted: true, externalId: pageId };
    const warnings: string[] = [];
    const ancestry = await this.ancestry(page.parent);
    if (opts.requireScope && this.limited && this.inRoots(page.id, ancestry) !== true) {
      return { skipped: true, externalId: pageId, warning: "outside the source's root pages and data sources: not imported" };
    }
    const [markdown, props] = await Promise.all([
      this.markdown(page.id, warnings),
      readProperties(page, { pageTitle: async (id) => {
        const p = await this.page(id).catch(() => null);
        return p && !p.in_trash ? pageTitle(p) : null;
      }, userName: (id) => this.userName(id) }),
    ]);
    const properties: Record<string, unknown> = { ...props.values };
    if (page.parent?.type === "data_source_id") {
      properties.notionDataSourceId = page.parent.data_source_id;
      properties.notionDatabaseId = page.parent.database_id;
    }
    const doc: SourceDocument & { warnings: string[] } = {
      externalId: page.id,
      title: pageTitle(page),
      url: page.url ?? null,
      breadcrumb: this.breadcrumb(ancestry),
      properties,
      markdown: props.lines.length ? `${propertiesMarkdown(props.lines)}\n\n${markdown}`.trim() : markdown,
      updatedAt: page.last_edited_time ? new Date(page.last_edited_time) : null,
      warnings,
    };
    return doc;
  }
}
