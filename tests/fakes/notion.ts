// A protocol-level fake of the Notion API (version 2025-09-03), driven through the real
// @notionhq/client in tests and benchmarks. It speaks:
//   POST /v1/search                         pages and data sources, paginated
//   GET  /v1/pages/:id                      page objects (in_trash, parent, properties, url)
//   GET  /v1/pages/:id/markdown             enhanced markdown, truncated pages with unknown_block_ids
//   GET  /v1/blocks/:id/children            child_page / child_database / toggle blocks, paginated
//   GET  /v1/databases/:id                  a database with its data sources
//   POST /v1/data_sources/:id/query         data source rows, paginated
// Bearer-token auth, 429 with Retry-After on demand (throttle(n)), and a log of every request.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

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
  /** Reachable only inside a toggle block of its parent (tests the nested block walk). */
  insideToggle?: boolean;
  /** Parts of the page Notion could not render in one response: ids → markdown. */
  unknownBlocks?: Record<string, string>;
  /** Answer 400 for this page's markdown (the reader then renders its blocks). */
  failMarkdown?: boolean;
  /** Answer 400 when this page is retrieved (tests one failing page). */
  failRetrieve?: boolean;
  /** Content blocks returned by /blocks/:id/children (default: one paragraph "text"). */
  blocks?: unknown[];
}

export interface FakeDatabase {
  id: string;
  title: string;
  parentPageId: string;
  dataSources: Array<{ id: string; name: string }>;
}

export interface FakeNotionOptions {
  token?: string;
  pages?: FakePage[];
  databases?: FakeDatabase[];
  /** Largest page_size the server honours (small values exercise pagination). */
  maxPageSize?: number;
  /** Retry-After seconds sent with 429s. */
  retryAfterSeconds?: number;
}

export interface FakeNotion {
  url: string;
  token: string;
  pages: Map<string, FakePage>;
  databases: Map<string, FakeDatabase>;
  requests: Array<{ method: string; path: string; at: number; status: number; version: string | undefined }>;
  /** The next n requests answer 429 (status 429, or 529 when `status` says so). */
  throttle(n: number, status?: 429 | 529): void;
  upsertPage(page: FakePage): void;
  updatePage(id: string, patch: Partial<FakePage>): void;
  close(): Promise<void>;
}

const nodash = (id: string) => id.replace(/-/g, "");
export const pageUrl = (p: FakePage) => `https://www.notion.so/${p.title.replace(/[^A-Za-z0-9]+/g, "-")}-${nodash(p.id)}`;

export function rich(text: string) {
  return [{ type: "text", text: { content: text, link: null }, plain_text: text, href: null, annotations: {} }];
}

export async function startFakeNotion(options: FakeNotionOptions = {}): Promise<FakeNotion> {
  const token = options.token ?? "ntn_fake_token_123";
  const pages = new Map((options.pages ?? []).map((p) => [p.id, { lastEditedTime: "2026-01-01T00:00:00.000Z", ...p }]));
  const databases = new Map((options.databases ?? []).map((d) => [d.id, d]));
  const maxPageSize = options.maxPageSize ?? 100;
  const requests: FakeNotion["requests"] = [];
  let throttled = 0;
  let throttleStatus: 429 | 529 = 429;

  const pageObject = (p: FakePage) => ({
    object: "page",
    id: p.id,
    created_time: "2026-01-01T00:00:00.000Z",
    last_edited_time: p.lastEditedTime,
    in_trash: !!p.inTrash,
    archived: !!p.inTrash,
    url: pageUrl(p),
    parent: p.parent,
    properties: {
      ...(p.properties ?? {}),
      [p.parent.type === "data_source_id" ? "Name" : "title"]: { id: "title", type: "title", title: rich(p.title) },
    },
  });

  const paginate = <T>(items: T[], cursor: string | undefined, size: number | undefined) => {
    const start = cursor ? Number(cursor) : 0;
    const n = Math.min(size ?? 100, maxPageSize);
    const slice = items.slice(start, start + n);
    const next = start + n < items.length ? String(start + n) : null;
    return { object: "list", results: slice, next_cursor: next, has_more: next !== null };
  };

  const childBlocks = (parentId: string, inToggle: boolean) => {
    const blocks: unknown[] = [];
    if (!inToggle && pages.has(parentId)) {
      const own = pages.get(parentId)!.blocks;
      if (own) blocks.push(...own);
      else blocks.push({ object: "block", id: `${parentId.slice(0, 8)}-para-0000-0000-000000000000`, type: "paragraph", has_children: false, paragraph: { rich_text: rich("text") } });
    }
    for (const p of pages.values()) {
      if (p.parent.type !== "page_id" || p.parent.page_id !== parentId || p.inTrash) continue;
      if (!!p.insideToggle !== inToggle) continue;
      blocks.push({ object: "block", id: p.id, type: "child_page", has_children: true, child_page: { title: p.title } });
    }
    if (!inToggle) {
      for (const d of databases.values()) {
        if (d.parentPageId === parentId) blocks.push({ object: "block", id: d.id, type: "child_database", has_children: false, child_database: { title: d.title } });
      }
      if ([...pages.values()].some((p) => p.parent.type === "page_id" && p.parent.page_id === parentId && p.insideToggle)) {
        blocks.push({ object: "block", id: `toggle-${parentId}`, type: "toggle", has_children: true, toggle: { rich_text: rich("More") } });
      }
    }
    return blocks;
  };

  const handle = async (req: IncomingMessage, res: ServerResponse, body: any): Promise<[number, unknown, Record<string, string>?]> => {
    if (req.headers.authorization !== `Bearer ${token}`) return [401, { object: "error", status: 401, code: "unauthorized", message: "API token is invalid." }];
    if (throttled > 0) {
      throttled--;
      return [throttleStatus, { object: "error", status: throttleStatus, code: "rate_limited", message: "Rate limited" }, { "retry-after": String(options.retryAfterSeconds ?? 1) }];
    }
    const url = new URL(req.url!, "http://x");
    const path = url.pathname;
    const notFound: [number, unknown] = [404, { object: "error", status: 404, code: "object_not_found", message: "Could not find object." }];
    let m: RegExpExecArray | null;
    if (req.method === "POST" && path === "/v1/search") {
      const filter = body?.filter?.value as string | undefined;
      const results: unknown[] = [];
      if (filter !== "data_source")
        for (const p of pages.values()) if (!p.inTrash && !p.hiddenFromSearch) results.push(pageObject(p));
      if (filter !== "page")
        for (const d of databases.values())
          for (const ds of d.dataSources)
            results.push({ object: "data_source", id: ds.id, title: rich(ds.name), parent: { type: "database_id", database_id: d.id } });
      return [200, { ...paginate(results, body?.start_cursor, body?.page_size), type: "page_or_data_source", page_or_data_source: {} }];
    }
    if (req.method === "GET" && (m = /^\/v1\/pages\/([^/]+)\/markdown$/.exec(path))) {
      const id = m[1];
      for (const p of pages.values()) {
        const part = p.unknownBlocks?.[id];
        if (part !== undefined) return [200, { object: "page_markdown", id, markdown: part, truncated: false, unknown_block_ids: [] }];
      }
      const p = pages.get(id);
      if (!p) return notFound;
      if (p.failMarkdown) return [400, { object: "error", status: 400, code: "validation_error", message: "Markdown is not available for this page." }];
      let md = p.markdown;
      for (const c of pages.values())
        if (c.parent.type === "page_id" && c.parent.page_id === id && !c.inTrash) md += `\n<page url="${pageUrl(c)}">${c.title}</page>`;
      const unknown = Object.keys(p.unknownBlocks ?? {});
      for (const u of unknown) md += `\n<unknown url="${pageUrl(p)}#${nodash(u)}" alt="toggle"/>`;
      return [200, { object: "page_markdown", id, markdown: md, truncated: unknown.length > 0, unknown_block_ids: unknown }];
    }
    if (req.method === "GET" && (m = /^\/v1\/pages\/([^/]+)$/.exec(path))) {
      const p = pages.get(m[1]);
      if (p?.failRetrieve) return [400, { object: "error", status: 400, code: "validation_error", message: "This page cannot be read." }];
      return p ? [200, pageObject(p)] : notFound;
    }
    if (req.method === "GET" && (m = /^\/v1\/blocks\/([^/]+)\/children$/.exec(path))) {
      const id = m[1];
      for (const p of pages.values()) {
        const nested = (p.blocks as Array<{ id: string; children?: unknown[] }> | undefined)?.find((b) => b.id === id);
        if (nested) return [200, { ...paginate(nested.children ?? [], url.searchParams.get("start_cursor") ?? undefined, undefined), type: "block", block: {} }];
      }
      const toggle = id.startsWith("toggle-");
      const parent = toggle ? id.slice("toggle-".length) : id;
      if (!toggle && !pages.has(parent)) return notFound;
      const size = url.searchParams.get("page_size");
      return [200, { ...paginate(childBlocks(parent, toggle), url.searchParams.get("start_cursor") ?? undefined, size ? Number(size) : undefined), type: "block", block: {} }];
    }
    if (req.method === "GET" && (m = /^\/v1\/databases\/([^/]+)$/.exec(path))) {
      const d = databases.get(m[1]);
      if (!d) return notFound;
      return [200, { object: "database", id: d.id, title: rich(d.title), parent: { type: "page_id", page_id: d.parentPageId }, data_sources: d.dataSources, in_trash: false }];
    }
    if (req.method === "POST" && (m = /^\/v1\/data_sources\/([^/]+)\/query$/.exec(path))) {
      const dsId = m[1];
      if (![...databases.values()].some((d) => d.dataSources.some((s) => s.id === dsId))) return notFound;
      const rows = [...pages.values()].filter((p) => p.parent.type === "data_source_id" && p.parent.data_source_id === dsId && !p.inTrash).map(pageObject);
      return [200, { ...paginate(rows, body?.start_cursor, body?.page_size), type: "page_or_data_source", page_or_data_source: {} }];
    }
    return [400, { object: "error", status: 400, code: "invalid_request_url", message: `Invalid request URL ${req.method} ${path}` }];
  };

  const server: Server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks).toString("utf8");
    let status = 500;
    try {
      const [s, payload, headers] = await handle(req, res, raw ? JSON.parse(raw) : undefined);
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
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** A Notion-style uuid from a small number (readable test ids). */
export function nid(n: number, prefix = "0000"): string {
  const hex = n.toString(16).padStart(12, "0");
  return `${prefix}0000-0000-4000-8000-${hex}`;
}
