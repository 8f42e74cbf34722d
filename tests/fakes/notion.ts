// A protocol-level fake of the Notion API (version 2025-09-03), driven through the real
// @notionhq/client in tests and benchmarks. It speaks:
//   POST /v1/search                         pages (rows too) and data sources, paginated
//   GET  /v1/pages/:id                      page objects (in_trash, parent, properties, url)
//   GET  /v1/pages/:id/markdown             enhanced markdown; truncated pages list unknown_block_ids,
//                                           which answer on the same route (or fail, like an unshared link)
//   GET  /v1/blocks/:id                     a block: child_page blocks, the toggles / columns / synced
//                                           blocks that nest pages, content blocks
//   GET  /v1/blocks/:id/children            child_page / child_database / nesting blocks, paginated
//   GET  /v1/databases/:id                  a database with its data sources
//   GET  /v1/data_sources/:id               a data source with its database's parent
//   POST /v1/data_sources/:id/query         data source rows, paginated
//   GET  /v1/users/:id                      people (for person properties that carry only an id)
// Bearer-token auth, 429 with Retry-After on demand (throttle(n)) or on every n-th request
// (rateLimitEvery), and a log of every request.
//
// Where Notion puts a page inside a toggle, a column or a synced block of its parent page, the page's
// `parent` is that block ({type: "block_id"}), as Notion reports it; the block's parent is the page
// (or the column list, for a column).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export type NestingKind = "toggle" | "column" | "synced_block";
export type FakeErrorStatus = 400 | 403 | 404 | 500;

export interface FakePage {
  id: string;
  title: string;
  markdown: string;
  /** "workspace", a page id, or a data source id (rows). */
  parent: { type: "workspace" } | { type: "page_id"; page_id: string } | { type: "data_source_id"; data_source_id: string; database_id: string };
  properties?: Record<string, unknown>;
  inTrash?: boolean;
  lastEditedTime?: string;
  /** Hidden from search (only reachable by walking blocks). */
  hiddenFromSearch?: boolean;
  /** Sits inside a toggle, a column or a synced block of its parent page (which is then its Notion parent). */
  nestedIn?: NestingKind;
  /**
   * Parts of the page Notion could not render in one response (the markdown comes back truncated):
   * id → their markdown, or an error status the part answers with (404: a link to a page not shared
   * with the integration).
   */
  unknownBlocks?: Record<string, string | { error: FakeErrorStatus }>;
  /** The markdown endpoint answers this status for the page (its blocks stay readable). */
  markdownError?: FakeErrorStatus;
  /** Answer 400 when this page is retrieved (tests one failing page). */
  failRetrieve?: boolean;
  /** Listing this page's block children answers this status (a root that fails to load). */
  childrenError?: FakeErrorStatus;
  /** Content blocks returned by /blocks/:id/children (default: one paragraph "text"). A block may carry
   * `children` (its own children) and `unreadable: true` (listing its children answers 404). */
  blocks?: unknown[];
}

export interface FakeDatabase {
  id: string;
  title: string;
  parentPageId: string;
  dataSources: Array<{ id: string; name: string }>;
  inTrash?: boolean;
}

export interface FakeUser {
  id: string;
  name: string;
}

export interface FakeNotionOptions {
  token?: string;
  pages?: FakePage[];
  databases?: FakeDatabase[];
  users?: FakeUser[];
  /** Largest page_size the server honours (small values exercise pagination). */
  maxPageSize?: number;
  /** Retry-After seconds sent with 429s. */
  retryAfterSeconds?: number;
  /** Every n-th request answers 429 with Retry-After (as a busy Notion does). */
  rateLimitEvery?: number;
}

export interface FakeRequest {
  method: string;
  path: string;
  at: number;
  status: number;
  version: string | undefined;
}

export interface FakeNotion {
  url: string;
  token: string;
  pages: Map<string, FakePage>;
  databases: Map<string, FakeDatabase>;
  users: Map<string, FakeUser>;
  requests: FakeRequest[];
  /** The next n requests answer 429 (status 429, or 529 when `status` says so). */
  throttle(n: number, status?: 429 | 529): void;
  upsertPage(page: FakePage): void;
  updatePage(id: string, patch: Partial<FakePage>): void;
  removePage(id: string): void;
  close(): Promise<void>;
}

const nodash = (id: string) => id.replace(/-/g, "");
export const pageUrl = (p: FakePage) => `https://www.notion.so/${p.title.replace(/[^A-Za-z0-9]+/g, "-")}-${nodash(p.id)}`;

export function rich(text: string) {
  return [{ type: "text", text: { content: text, link: null }, plain_text: text, href: null, annotations: {} }];
}

/** The id of the nesting block of `pageId` that holds its nested child pages (stable, uuid-shaped). */
export function nestingBlockId(pageId: string, kind: NestingKind | "column_list"): string {
  const prefix = { toggle: "7a7a", column_list: "c01a", column: "c01b", synced_block: "5b5b" }[kind];
  return prefix + pageId.slice(4);
}

const STAMP = "2026-01-01T00:00:00.000Z";

export async function startFakeNotion(options: FakeNotionOptions = {}): Promise<FakeNotion> {
  const token = options.token ?? "ntn_fake_token_123";
  const pages = new Map((options.pages ?? []).map((p) => [p.id, { lastEditedTime: STAMP, ...p }]));
  const databases = new Map((options.databases ?? []).map((d) => [d.id, d]));
  const users = new Map((options.users ?? []).map((u) => [u.id, u]));
  const maxPageSize = options.maxPageSize ?? 100;
  const requests: FakeRequest[] = [];
  let throttled = 0;
  let throttleStatus: 429 | 529 = 429;
  let served = 0;

  const errorBody = (status: number) => {
    const code = { 400: "validation_error", 403: "restricted_resource", 404: "object_not_found", 500: "internal_server_error" }[status] ?? "internal_server_error";
    const message = status === 404 ? "Could not find object. Make sure the relevant pages and databases are shared with your integration." : `Failed with ${code}.`;
    return { object: "error", status, code, message };
  };
  // A 500 carries Retry-After: 0 so that the client's retries (it retries 500 on GET) take no time.
  const fail = (status: number): [number, unknown, Record<string, string>?] => [status, errorBody(status), status === 500 ? { "retry-after": "0" } : undefined];

  const notionParent = (p: FakePage) =>
    p.nestedIn && p.parent.type === "page_id" ? { type: "block_id", block_id: nestingBlockId(p.parent.page_id, p.nestedIn) } : p.parent;

  const pageObject = (p: FakePage) => ({
    object: "page",
    id: p.id,
    created_time: STAMP,
    last_edited_time: p.lastEditedTime,
    in_trash: !!p.inTrash,
    archived: !!p.inTrash,
    url: pageUrl(p),
    parent: notionParent(p),
    properties: {
      ...(p.properties ?? {}),
      [p.parent.type === "data_source_id" ? "Name" : "title"]: { id: "title", type: "title", title: rich(p.title) },
    },
  });

  const blockBase = (id: string, type: string, parent: unknown, hasChildren: boolean) => ({
    object: "block",
    id,
    type,
    parent,
    created_time: STAMP,
    last_edited_time: STAMP,
    has_children: hasChildren,
    in_trash: false,
    archived: false,
  });
  const childPageBlock = (p: FakePage) => ({ ...blockBase(p.id, "child_page", notionParent(p), true), child_page: { title: p.title } });

  const livePageChildren = (parentId: string) =>
    [...pages.values()].filter((p) => p.parent.type === "page_id" && p.parent.page_id === parentId && !p.inTrash);

  /** Nesting blocks of every page: id → the block and its children. */
  const nestingBlocks = () => {
    const out = new Map<string, { block: Record<string, unknown>; children: () => unknown[] }>();
    const owners = new Set(
      [...pages.values()].filter((p) => p.nestedIn && p.parent.type === "page_id").map((p) => `${(p.parent as { page_id: string }).page_id}|${p.nestedIn}`),
    );
    for (const key of owners) {
      const [owner, kind] = key.split("|") as [string, NestingKind];
      const nested = () => livePageChildren(owner).filter((p) => p.nestedIn === kind).map(childPageBlock);
      const onPage = { type: "page_id", page_id: owner };
      if (kind === "toggle") {
        const id = nestingBlockId(owner, "toggle");
        out.set(id, { block: { ...blockBase(id, "toggle", onPage, true), toggle: { rich_text: rich("More"), color: "default" } }, children: nested });
      } else if (kind === "synced_block") {
        const id = nestingBlockId(owner, "synced_block");
        out.set(id, { block: { ...blockBase(id, "synced_block", onPage, true), synced_block: { synced_from: null } }, children: nested });
      } else {
        const list = nestingBlockId(owner, "column_list");
        const column = nestingBlockId(owner, "column");
        const columnBlock = { ...blockBase(column, "column", { type: "block_id", block_id: list }, true), column: { width_ratio: 1 } };
        out.set(list, { block: { ...blockBase(list, "column_list", onPage, true), column_list: {} }, children: () => [columnBlock] });
        out.set(column, { block: columnBlock, children: nested });
      }
    }
    return out;
  };

  /** A content block given in a page's `blocks` (at any depth), with its parent. */
  const findContentBlock = (id: string): { block: Record<string, any>; parent: unknown } | null => {
    const walk = (list: unknown[] | undefined, parent: unknown): { block: Record<string, any>; parent: unknown } | null => {
      for (const b of (list ?? []) as Array<Record<string, any>>) {
        if (b.id === id) return { block: b, parent };
        const inner = walk(b.children, { type: "block_id", block_id: b.id });
        if (inner) return inner;
      }
      return null;
    };
    for (const p of pages.values()) {
      const hit = walk(p.blocks, { type: "page_id", page_id: p.id });
      if (hit) return hit;
    }
    return null;
  };
  const contentBlockObject = (b: Record<string, any>, parent: unknown) => {
    const { children, unreadable: _u, ...rest } = b;
    return { ...blockBase(b.id, b.type, parent, !!(children && children.length) || !!b.has_children), ...rest, parent };
  };

  const childBlocks = (pageId: string) => {
    const page = pages.get(pageId)!;
    const blocks: unknown[] = [];
    const onPage = { type: "page_id", page_id: pageId };
    if (page.blocks) blocks.push(...(page.blocks as Array<Record<string, any>>).map((b) => contentBlockObject(b, onPage)));
    else blocks.push({ ...blockBase(`a0a0${pageId.slice(4)}`, "paragraph", onPage, false), paragraph: { rich_text: rich("text") } });
    for (const p of livePageChildren(pageId)) if (!p.nestedIn) blocks.push(childPageBlock(p));
    for (const d of databases.values()) {
      if (d.parentPageId === pageId && !d.inTrash) blocks.push({ ...blockBase(d.id, "child_database", onPage, false), child_database: { title: d.title } });
    }
    for (const [, n] of nestingBlocks()) if ((n.block.parent as { page_id?: string }).page_id === pageId) blocks.push(n.block);
    return blocks;
  };

  const paginate = <T>(items: T[], cursor: string | undefined | null, size: number | undefined) => {
    const start = cursor ? Number(cursor) : 0;
    const n = Math.min(size ?? 100, maxPageSize);
    const slice = items.slice(start, start + n);
    const next = start + n < items.length ? String(start + n) : null;
    return { object: "list", results: slice, next_cursor: next, has_more: next !== null };
  };

  const dataSourceOwner = (dsId: string) => [...databases.values()].find((d) => d.dataSources.some((s) => s.id === dsId));
  const dataSourceObject = (d: FakeDatabase, ds: { id: string; name: string }) => ({
    object: "data_source",
    id: ds.id,
    title: rich(ds.name),
    parent: { type: "database_id", database_id: d.id },
    database_parent: { type: "page_id", page_id: d.parentPageId },
    in_trash: !!d.inTrash,
    archived: !!d.inTrash,
    properties: {},
  });

  const handle = async (req: IncomingMessage, body: any): Promise<[number, unknown, Record<string, string>?]> => {
    if (req.headers.authorization !== `Bearer ${token}`) return [401, { object: "error", status: 401, code: "unauthorized", message: "API token is invalid." }];
    served++;
    if (throttled > 0 || (options.rateLimitEvery && served % options.rateLimitEvery === 0)) {
      const explicit = throttled > 0;
      if (explicit) throttled--;
      const status = explicit ? throttleStatus : 429;
      return [status, { object: "error", status, code: status === 529 ? "service_overload" : "rate_limited", message: "Rate limited" }, { "retry-after": String(options.retryAfterSeconds ?? 1) }];
    }
    const url = new URL(req.url!, "http://x");
    const path = url.pathname;
    const query = url.searchParams;
    let m: RegExpExecArray | null;
    if (req.method === "POST" && path === "/v1/search") {
      const filter = body?.filter?.value as string | undefined;
      const results: unknown[] = [];
      if (filter !== "data_source") for (const p of pages.values()) if (!p.inTrash && !p.hiddenFromSearch) results.push(pageObject(p));
      if (filter !== "page")
        for (const d of databases.values()) if (!d.inTrash) for (const ds of d.dataSources) results.push(dataSourceObject(d, ds));
      return [200, { ...paginate(results, body?.start_cursor, body?.page_size), type: "page_or_data_source", page_or_data_source: {} }];
    }
    if (req.method === "GET" && (m = /^\/v1\/pages\/([^/]+)\/markdown$/.exec(path))) {
      const id = m[1]!;
      for (const p of pages.values()) {
        const part = p.unknownBlocks?.[id];
        if (part === undefined) continue;
        if (typeof part !== "string") return fail(part.error);
        return [200, { object: "page_markdown", id, markdown: part, truncated: false, unknown_block_ids: [] }];
      }
      const p = pages.get(id);
      if (!p) return fail(404);
      if (p.markdownError) return fail(p.markdownError);
      let md = p.markdown;
      for (const c of livePageChildren(id)) md += `\n<page url="${pageUrl(c)}">${c.title}</page>`;
      const unknown = Object.keys(p.unknownBlocks ?? {});
      for (const u of unknown) md += `\n<unknown url="${pageUrl(p)}#${nodash(u)}" alt="toggle"/>`;
      return [200, { object: "page_markdown", id, markdown: md, truncated: unknown.length > 0, unknown_block_ids: unknown }];
    }
    if (req.method === "GET" && (m = /^\/v1\/pages\/([^/]+)$/.exec(path))) {
      const p = pages.get(m[1]!);
      if (p?.failRetrieve) return [400, { object: "error", status: 400, code: "validation_error", message: "This page cannot be read." }];
      return p ? [200, pageObject(p)] : fail(404);
    }
    if (req.method === "GET" && (m = /^\/v1\/blocks\/([^/]+)\/children$/.exec(path))) {
      const id = m[1]!;
      const size = query.get("page_size");
      const list = (items: unknown[]): [number, unknown] => [200, { ...paginate(items, query.get("start_cursor"), size ? Number(size) : undefined), type: "block", block: {} }];
      const nest = nestingBlocks().get(id);
      if (nest) return list(nest.children());
      const content = findContentBlock(id);
      if (content) {
        if (content.block.unreadable) return fail(404);
        const parent = { type: "block_id", block_id: id };
        return list(((content.block.children ?? []) as Array<Record<string, any>>).map((b) => contentBlockObject(b, parent)));
      }
      const p = pages.get(id);
      if (!p) return fail(404);
      if (p.childrenError) return fail(p.childrenError);
      return list(childBlocks(id));
    }
    if (req.method === "GET" && (m = /^\/v1\/blocks\/([^/]+)$/.exec(path))) {
      const id = m[1]!;
      const nest = nestingBlocks().get(id);
      if (nest) return [200, nest.block];
      const content = findContentBlock(id);
      if (content) return [200, contentBlockObject(content.block, content.parent)];
      const p = pages.get(id);
      if (p && !p.inTrash) return [200, childPageBlock(p)];
      return fail(404);
    }
    if (req.method === "GET" && (m = /^\/v1\/databases\/([^/]+)$/.exec(path))) {
      const d = databases.get(m[1]!);
      if (!d) return fail(404);
      return [200, { object: "database", id: d.id, title: rich(d.title), parent: { type: "page_id", page_id: d.parentPageId }, data_sources: d.dataSources, in_trash: !!d.inTrash, archived: !!d.inTrash }];
    }
    if (req.method === "GET" && (m = /^\/v1\/data_sources\/([^/]+)$/.exec(path))) {
      const d = dataSourceOwner(m[1]!);
      const ds = d?.dataSources.find((s) => s.id === m![1]);
      return d && ds ? [200, dataSourceObject(d, ds)] : fail(404);
    }
    if (req.method === "POST" && (m = /^\/v1\/data_sources\/([^/]+)\/query$/.exec(path))) {
      const dsId = m[1]!;
      const owner = dataSourceOwner(dsId);
      if (!owner || owner.inTrash) return fail(404);
      const rows = [...pages.values()].filter((p) => p.parent.type === "data_source_id" && p.parent.data_source_id === dsId && !p.inTrash).map(pageObject);
      return [200, { ...paginate(rows, body?.start_cursor, body?.page_size), type: "page_or_data_source", page_or_data_source: {} }];
    }
    if (req.method === "GET" && (m = /^\/v1\/users\/([^/]+)$/.exec(path))) {
      const u = users.get(m[1]!);
      return u ? [200, { object: "user", id: u.id, type: "person", name: u.name, avatar_url: null, person: {} }] : fail(404);
    }
    return [400, { object: "error", status: 400, code: "invalid_request_url", message: `Invalid request URL ${req.method} ${path}` }];
  };

  const server: Server = createServer(async (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks).toString("utf8");
    let status = 500;
    try {
      const [s, payload, headers] = await handle(req, raw ? JSON.parse(raw) : undefined);
      status = s;
      res.writeHead(s, { "content-type": "application/json", ...(headers ?? {}) });
      res.end(JSON.stringify(payload));
    } catch (err) {
      res.writeHead(500, { "content-type": "application/json" });
      res.end(JSON.stringify({ object: "error", status: 500, code: "internal_server_error", message: String(err) }));
    }
    requests.push({ method: req.method!, path: new URL(req.url!, "http://x").pathname, at: Date.now(), status, version: req.headers["notion-version"] as string | undefined });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    token,
    pages,
    databases,
    users,
    requests,
    throttle(n, status = 429) {
      throttled = n;
      throttleStatus = status;
    },
    upsertPage(page) {
      pages.set(page.id, { lastEditedTime: new Date().toISOString(), ...page });
    },
    updatePage(id, patch) {
      const p = pages.get(id);
      if (!p) throw new Error(`no page ${id}`);
      pages.set(id, { ...p, lastEditedTime: new Date().toISOString(), ...patch });
    },
    removePage(id) {
      pages.delete(id);
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** A Notion-style uuid from a small number (readable test ids). */
export function nid(n: number, prefix = "0000"): string {
  const hex = n.toString(16).padStart(12, "0");
  return `${prefix}0000-0000-4000-8000-${hex}`;
}
