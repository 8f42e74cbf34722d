// What the columns of an old table mean: which one holds the chunk's text, which the metadata JSON,
// which the embedding (and its dimension), and where title, URL, page id, heading, updated time and
// position sit — a column of their own, or a key of the metadata under one of the names the usual
// tools use (LangChain's `documents(id, content, metadata, embedding)`, Lovable's `wiki_chunks`,
// Notion loaders). `--map field=column` or `field=column.key.path` overrides any guess.
import { ValidationError } from "../errors";
import type { ExportColumn, ExportRow, ExportTable } from "./reader";
import { lineError } from "./reader";

export const FIELDS = ["content", "metadata", "embedding", "id", "title", "url", "pageId", "heading", "updatedAt", "position"] as const;
export type Field = (typeof FIELDS)[number];
/** Where a field is read: a column, and within a JSON column a key path. */
export interface FieldSource {
  column: string;
  path: string[];
}
export type Shape = { table: string } & { [F in Field]: FieldSource | null };

const COLUMN_NAMES: Record<Field, string[]> = {
  content: ["content", "page_content", "chunk_content", "chunk_text", "text", "body", "chunk", "document", "markdown"],
  metadata: ["metadata", "meta", "cmetadata", "metadata_json", "properties"],
  embedding: ["embedding", "embeddings", "vector", "content_embedding"],
  id: ["id", "chunk_id", "uuid"],
  title: ["title", "page_title", "document_title", "name"],
  url: ["url", "source_url", "page_url", "link", "href", "source"],
  pageId: ["page_id", "notion_page_id", "document_id", "doc_id", "parent_id", "file_id"],
  heading: ["heading", "section", "header", "heading_path", "headings", "section_title"],
  updatedAt: ["updated_at", "last_edited_time", "last_edited_at", "modified_at", "last_modified", "updated"],
  position: ["chunk_index", "position", "chunk_number", "chunk_no", "seq", "idx", "index", "chunk_order", "ordinal"],
};
/** Keys looked for inside the metadata JSON (dots: nested). */
const METADATA_KEYS: Partial<Record<Field, string[]>> = {
  title: ["title", "page_title", "pageTitle", "document_title", "doc_title", "name", "source_title", "notion_title"],
  url: ["url", "source_url", "sourceUrl", "page_url", "pageUrl", "notion_url", "link", "href", "source", "file_path", "path"],
  pageId: ["page_id", "pageId", "notion_page_id", "notionPageId", "document_id", "documentId", "doc_id", "docId", "parent_id", "file_id", "source_id"],
  heading: ["heading", "section", "header", "heading_path", "headings", "section_title", "breadcrumb"],
  updatedAt: ["updated_at", "updatedAt", "last_edited_time", "lastEditedTime", "last_edited_at", "last_modified", "lastModified", "modified_at", "modified", "updated"],
  position: ["chunk_index", "chunkIndex", "position", "chunk_number", "chunk", "index", "seq", "order", "loc.lines.from", "loc.pageNumber"],
};

const isVectorType = (t: string | null) => !!t && /(^|\.)"?(vector|halfvec)"?\s*(\(\d+\))?$/i.test(t.trim());
const isJsonType = (t: string | null) => !!t && /^jsonb?$/i.test(t.trim());
const isTextType = (t: string | null) => !t || /^(text|character varying.*|varchar.*|character.*|char.*)$/i.test(t.trim());

/** `content=body,title=metadata.title` → overrides. */
export function parseMap(spec: string | undefined): Partial<Record<Field, FieldSource>> {
  const out: Partial<Record<Field, FieldSource>> = {};
  if (!spec) return out;
  for (const part of spec.split(",").map((p) => p.trim()).filter(Boolean)) {
    const m = /^([A-Za-z_]+)\s*=\s*(.+)$/.exec(part);
    const field = m && (FIELDS as readonly string[]).find((f) => f.toLowerCase() === m[1].toLowerCase().replace(/_/g, ""));
    if (!m || !field) {
      throw new ValidationError(`--map ${part}: expected field=column or field=column.key, with field one of ${FIELDS.join(", ")}.`, [
        { path: "map", message: part },
      ]);
    }
    const [column, ...path] = m[2].trim().split(".");
    out[field as Field] = { column, path };
  }
  return out;
}

/** Decides the shape from the declared columns and the first rows. */
export function detectShape(table: ExportTable, sample: ExportRow[], overrides: Partial<Record<Field, FieldSource>> = {}): Shape {
  const cols = table.columns;
  const index = new Map(cols.map((c, i) => [c.name, i]));
  const byName = (names: string[], ok: (c: ExportColumn) => boolean = () => true) => {
    for (const n of names) {
      const c = cols.find((x) => x.name.toLowerCase() === n && ok(x));
      if (c) return c;
    }
    return null;
  };
  const values = (c: ExportColumn) => sample.map((r) => r.values[index.get(c.name)!]).filter((v): v is string => v !== null && v !== "");
  const looksJsonObject = (c: ExportColumn) => {
    const vs = values(c).slice(0, 20);
    return vs.length > 0 && vs.every((v) => v.trimStart().startsWith("{") && safeJson(v) !== undefined);
  };
  const looksVector = (c: ExportColumn) => {
    const vs = values(c).slice(0, 5);
    return vs.length > 0 && vs.every((v) => /^\[\s*-?[\d.eE+-]+(\s*,\s*-?[\d.eE+-]+)+\s*\]$/.test(v.slice(0, 200) + (v.length > 200 ? v.slice(-50) : "")));
  };
  for (const [field, src] of Object.entries(overrides)) {
    if (!index.has(src.column)) {
      throw lineError(table.line, `--map ${field}=${[src.column, ...src.path].join(".")}: ${table.name} has no column ${src.column} (it has ${cols.map((c) => c.name).join(", ")}).`);
    }
  }
  const col = (c: ExportColumn | null | undefined): FieldSource | null => (c ? { column: c.name, path: [] } : null);

  const embedding = overrides.embedding ?? col(cols.find((c) => isVectorType(c.type)) ?? byName(COLUMN_NAMES.embedding, (c) => !c.type || looksVector(c)) ?? cols.find((c) => !c.type && looksVector(c)));
  const metadata = overrides.metadata ?? col(byName(COLUMN_NAMES.metadata, (c) => isJsonType(c.type) || (!c.type || isTextType(c.type)) && looksJsonObject(c)) ?? cols.find((c) => isJsonType(c.type)));
  const taken = new Set([embedding?.column, metadata?.column]);
  let content = overrides.content ?? col(byName(COLUMN_NAMES.content, (c) => isTextType(c.type) && !taken.has(c.name)));
  if (!content) {
    // The text column with the longest values, when nothing is called content.
    const texts = cols.filter((c) => isTextType(c.type) && !taken.has(c.name) && !looksVector(c) && !looksJsonObject(c));
    const avg = (c: ExportColumn) => {
      const vs = values(c);
      return vs.length ? vs.reduce((a, v) => a + v.length, 0) / vs.length : 0;
    };
    const best = texts.sort((a, b) => avg(b) - avg(a))[0];
    if (best && avg(best) >= 40) content = col(best);
  }
  if (!content) {
    throw lineError(
      table.line,
      `${table.name} has no column with the chunks' text (looked for ${COLUMN_NAMES.content.slice(0, 5).join(", ")}, … or a long text column; it has ${cols.map((c) => c.name).join(", ")}). ` +
        `Name it with --map content=<column>.`,
    );
  }

  const shape: Shape = { table: table.name, content, metadata, embedding, id: null, title: null, url: null, pageId: null, heading: null, updatedAt: null, position: null };
  for (const field of ["id", "title", "url", "pageId", "heading", "updatedAt", "position"] as const) {
    if (overrides[field]) {
      shape[field] = overrides[field]!;
      continue;
    }
    const own = byName(COLUMN_NAMES[field], (c) => c.name !== content!.column && !taken.has(c.name));
    if (own) {
      shape[field] = col(own);
      continue;
    }
    const keys = METADATA_KEYS[field];
    if (!keys || !metadata) continue;
    const parsed = sample.map((r) => safeJson(r.values[index.get(metadata.column)!]));
    for (const key of keys) {
      const path = key.split(".");
      if (parsed.some((p) => { const v = dig(p, path); return v !== undefined && v !== null && v !== ""; })) {
        shape[field] = { column: metadata.column, path: [...metadata.path, ...path] };
        break;
      }
    }
  }
  return shape;
}

function safeJson(v: string | null | undefined): unknown {
  if (v === null || v === undefined) return undefined;
  try {
    return JSON.parse(v);
  } catch {
    return undefined;
  }
}

function dig(value: unknown, path: string[]): unknown {
  let v = value;
  for (const k of path) {
    if (v === null || typeof v !== "object") return undefined;
    v = (v as Record<string, unknown>)[k];
  }
  return v;
}

/** One row as a chunk of an old page. */
export interface OldChunk {
  line: number;
  oldId: string | null;
  content: string;
  title: string | null;
  url: string | null;
  pageId: string | null;
  heading: string | null;
  updatedAt: string | null;
  position: number | null;
  /** Dimension of the row's embedding (null: none). */
  dimension: number | null;
}

export function makeRowReader(table: ExportTable, shape: Shape): (row: ExportRow) => OldChunk {
  const index = new Map(table.columns.map((c, i) => [c.name, i]));
  // The metadata JSON is parsed once per row (several fields read it).
  const cache: { row: ExportRow | null; column: string; value: unknown } = { row: null, column: "", value: undefined };
  const read = (row: ExportRow, src: FieldSource | null): unknown => {
    if (!src) return null;
    const raw = row.values[index.get(src.column)!] ?? null;
    if (src.path.length === 0) return raw;
    if (cache.row !== row || cache.column !== src.column) {
      cache.row = row;
      cache.column = src.column;
      cache.value = safeJson(raw);
      if (raw !== null && raw !== "" && cache.value === undefined) throw lineError(row.line, `the ${src.column} column is not valid JSON.`);
    }
    return dig(cache.value, src.path) ?? null;
  };
  const str = (v: unknown): string | null => {
    if (v === null || v === undefined || v === "") return null;
    if (Array.isArray(v)) return v.map(String).filter(Boolean).join(" › ") || null;
    if (typeof v === "object") return JSON.stringify(v);
    return String(v);
  };
  return (row) => {
    const emb = shape.embedding ? (row.values[index.get(shape.embedding.column)!] ?? null) : null;
    const pos = str(read(row, shape.position));
    const posNum = pos !== null && /^-?\d+(\.\d+)?$/.test(pos.trim()) ? Number(pos) : null;
    const updated = str(read(row, shape.updatedAt));
    return {
      line: row.line,
      oldId: str(read(row, shape.id)),
      content: str(read(row, shape.content)) ?? "",
      title: str(read(row, shape.title))?.trim() || null,
      url: str(read(row, shape.url))?.trim() || null,
      pageId: str(read(row, shape.pageId))?.trim() || null,
      heading: str(read(row, shape.heading))?.trim() || null,
      updatedAt: updated && !Number.isNaN(Date.parse(updated)) ? new Date(updated).toISOString() : null,
      position: posNum,
      dimension: emb && emb.startsWith("[") ? countDims(emb) : null,
    };
  };
}

function countDims(v: string): number {
  let n = 1;
  for (let i = 0; i < v.length; i++) if (v.charCodeAt(i) === 44) n++;
  return v.trim() === "[]" ? 0 : n;
}

/** Chunks of one old page go together: by page id, else URL, else title, else each row alone. */
export function documentKey(c: OldChunk): { key: string; by: "page id" | "url" | "title" | "row" } {
  if (c.pageId) return { key: `page:${c.pageId}`, by: "page id" };
  if (c.url) return { key: `url:${c.url}`, by: "url" };
  if (c.title) return { key: `title:${c.title}`, by: "title" };
  return { key: `row:${c.oldId ?? c.line}`, by: "row" };
}

/** What produced vectors of this size, as far as one can tell from the size alone. */
export function guessModel(dimension: number | null): string {
  switch (dimension) {
    case null:
    case 0:
      return "no embeddings in the export";
    case 768:
      return "Google text-embedding-004 (768-d; Lovable AI gateway) — or another 768-d model";
    case 1536:
      return "Google gemini-embedding-001 at 1536 dimensions (Lovable AI gateway) — or OpenAI text-embedding-3-small / ada-002";
    case 3072:
      return "Google gemini-embedding-001 at its full 3072 dimensions — or OpenAI text-embedding-3-large";
    case 384:
      return "gte-small / all-MiniLM-L6-v2 (Supabase's built-in 384-d models)";
    case 1024:
      return "Cohere embed-v3 / mxbai-embed-large (1024-d)";
    default:
      return `an unknown ${dimension}-dimension model`;
  }
}
