// Splits one document's markdown into token-bounded chunks along its headings.
//
// Rules (issue #3): a chunk never exceeds `maxTokens` (counted on the text that is embedded, title and
// heading prefix included); a heading stays with the text under it; a table row or a code block is
// never cut where it fits in one chunk (a table that is too long is cut between rows, repeating its
// header; a code block between lines, re-fenced); tiny fragments are merged with their neighbour; each
// chunk's embedded text starts with the page title and heading path, so a chunk read alone still says
// what it is about. Pure: no I/O.
import { createHash } from "node:crypto";
import { cutToBudget, estimateTokens } from "./tokens";

export interface ChunkOptions {
  /** Upper bound per chunk, embedded prefix included. Default 450 (the embedder's context is 2,048). */
  maxTokens?: number;
  /** Chunks smaller than this are merged with a neighbour where the result still fits. Default 60. */
  minTokens?: number;
}

export interface TextChunk {
  position: number;
  /** Headings above this chunk, outermost first. */
  headingPath: string[];
  /** Slug of the innermost heading (a link target into the page), or null before the first heading. */
  anchor: string | null;
  /** The chunk's markdown, as shown to people and searched by full-text. */
  text: string;
  /** What the embedder sees: title and heading path, then the text. */
  embedText: string;
  tokenCount: number;
  /** SHA-256 of embedText: equal hashes mean equal embeddings, so they are never computed twice. */
  contentHash: string;
}

export const DEFAULT_MAX_TOKENS = 450;
export const EMBEDDER_CONTEXT_TOKENS = 2048;
// Title + heading path must leave room for text; longer prefixes are shortened.
const MAX_PREFIX_TOKENS = 64;

type Block = { kind: "text" | "code" | "table"; text: string };
type Section = { path: string[]; level: number; heading: string | null; blocks: Block[] };
type Draft = { path: string[]; anchor: string | null; text: string };

export function chunkMarkdown(title: string, markdown: string, opts: ChunkOptions = {}): TextChunk[] {
  const maxTokens = Math.min(opts.maxTokens ?? DEFAULT_MAX_TOKENS, EMBEDDER_CONTEXT_TOKENS);
  const minTokens = opts.minTokens ?? 60;
  if (maxTokens < MAX_PREFIX_TOKENS + 16) throw new RangeError(`maxTokens must be at least ${MAX_PREFIX_TOKENS + 16}`);

  const drafts: Draft[] = [];
  // Headings of empty sections ("# Guide" directly followed by "## Install") travel with the next
  // section's text, so no chunk is a bare heading.
  let pendingHeadings: string[] = [];
  for (const section of parseSections(markdown)) {
    const path = section.path;
    if (section.blocks.length === 0 && section.heading) {
      pendingHeadings.push(section.heading);
      continue;
    }
    const anchor = path.length ? slugify(path[path.length - 1]) : null;
    const budget = maxTokens - estimateTokens(prefixFor(title, path)) - 1;
    let current: string[] = [];
    let currentTokens = 0;
    const flush = () => {
      if (current.length) drafts.push({ path, anchor, text: current.join("\n\n") });
      current = [];
      currentTokens = 0;
    };
    const headings = [...pendingHeadings, ...(section.heading ? [section.heading] : [])].join("\n\n");
    pendingHeadings = [];
    const headTokens = headings ? estimateTokens(headings) + 2 : 0;
    const units: string[] = [];
    // Absurdly long headings (a pasted paragraph marked as a heading) become their own unit.
    const attach = headings !== "" && headTokens <= budget / 2;
    if (headings && !attach) units.push(...splitText(headings, budget - 2));
    section.blocks.forEach((b, i) => {
      // The first block shares its chunk with the headings above it.
      const first = i === 0 && attach;
      const parts = fitBlock(b, first ? budget - headTokens : budget);
      if (first) parts[0] = `${headings}\n\n${parts[0]}`;
      units.push(...parts);
    });
    for (const u of units) {
      const t = estimateTokens(u) + 2; // + the blank line that joins it
      if (current.length && currentTokens + t > budget) flush();
      current.push(u);
      currentTokens += t;
    }
    flush();
  }

  if (pendingHeadings.length) {
    const path = parseSections(markdown).at(-1)!.path;
    drafts.push({ path, anchor: path.length ? slugify(path[path.length - 1]) : null, text: pendingHeadings.join("\n\n") });
  }

  const merged = mergeTiny(drafts, title, maxTokens, minTokens);
  return merged.map((d, position) => {
    const embedText = `${prefixFor(title, d.path)}\n\n${d.text}`;
    return {
      position,
      headingPath: d.path,
      anchor: d.anchor,
      text: d.text,
      embedText,
      tokenCount: estimateTokens(embedText),
      contentHash: createHash("sha256").update(embedText).digest("hex"),
    };
  });
}

/** "Title › Heading › Subheading", shortened so it never takes more than MAX_PREFIX_TOKENS. */
export function prefixFor(title: string, path: string[]): string {
  const parts = [title.trim() || "Untitled", ...path];
  let prefix = parts.join(" › ");
  if (estimateTokens(prefix) > MAX_PREFIX_TOKENS) prefix = cutToBudget(prefix, MAX_PREFIX_TOKENS - 1)[0] + "…";
  return prefix;
}

export function slugify(heading: string): string {
  return heading
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s-]/gu, "")
    .trim()
    .replace(/\s+/g, "-");
}

// ───────────────────────────── parsing ─────────────────────────────

const FENCE = /^ {0,3}(`{3,}|~{3,})/;
const HEADING = /^ {0,3}(#{1,6})[ \t]+(.*?)(?:[ \t]+#+)?[ \t]*$/;
const TABLE_LINE = /^\s*\|/;

/** Splits markdown into sections (one per heading) of blocks: paragraphs/lists, fenced code, tables. */
export function parseSections(markdown: string): Section[] {
  const lines = markdown.replace(/\r\n?/g, "\n").split("\n");
  const sections: Section[] = [{ path: [], level: 0, heading: null, blocks: [] }];
  const stack: { level: number; text: string }[] = [];
  let para: string[] = [];
  const cur = () => sections[sections.length - 1];
  const endPara = () => {
    if (para.length) cur().blocks.push({ kind: "text", text: para.join("\n") });
    para = [];
  };

  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    const fence = FENCE.exec(line);
    if (fence) {
      endPara();
      const marker = fence[1];
      const body = [line];
      i++;
      for (; i < lines.length; i++) {
        body.push(lines[i]);
        const close = FENCE.exec(lines[i]);
        if (close && close[1][0] === marker[0] && close[1].length >= marker.length && lines[i].trim() === close[1]) break;
      }
      cur().blocks.push({ kind: "code", text: body.join("\n") });
      continue;
    }
    const heading = HEADING.exec(line);
    if (heading) {
      endPara();
      const level = heading[1].length;
      const text = heading[2].trim();
      while (stack.length && stack[stack.length - 1].level >= level) stack.pop();
      stack.push({ level, text });
      sections.push({ path: stack.map((s) => s.text).filter(Boolean), level, heading: line.trim(), blocks: [] });
      continue;
    }
    if (TABLE_LINE.test(line)) {
      endPara();
      const rows = [line];
      while (i + 1 < lines.length && TABLE_LINE.test(lines[i + 1])) rows.push(lines[++i]);
      cur().blocks.push({ kind: "table", text: rows.join("\n") });
      continue;
    }
    if (line.trim() === "") {
      endPara();
      continue;
    }
    para.push(line);
  }
  endPara();
  return sections.filter((s) => s.heading !== null || s.blocks.length > 0);
}

// ───────────────────────────── fitting ─────────────────────────────

/** A block as one unit when it fits the budget, otherwise as several units that each fit. */
function fitBlock(block: Block, budget: number): string[] {
  if (estimateTokens(block.text) + 2 <= budget) return [block.text];
  if (block.kind === "table") return splitTable(block.text, budget);
  if (block.kind === "code") return splitCode(block.text, budget);
  return splitText(block.text, budget - 2);
}

function splitTable(table: string, budget: number): string[] {
  const rows = table.split("\n");
  const hasHeader = rows.length > 2 && /^\s*\|?[\s:|-]+\|?\s*$/.test(rows[1]) && rows[1].includes("-");
  const header = hasHeader ? rows.slice(0, 2).join("\n") : "";
  const body = hasHeader ? rows.slice(2) : rows;
  const headerTokens = header ? estimateTokens(header) + 1 : 0;
  // A header so large that no row fits after it is not repeated.
  const repeat = header && headerTokens + 20 < budget - 2;
  return packLines(body, budget - 2, repeat ? header : "");
}

function splitCode(code: string, budget: number): string[] {
  const lines = code.split("\n");
  const open = lines[0];
  const marker = FENCE.exec(open)![1];
  const closed = lines.length > 1 && lines[lines.length - 1].trim() === marker;
  const inner = lines.slice(1, closed ? -1 : undefined);
  const wrapTokens = estimateTokens(open) + estimateTokens(marker) + 2;
  return packLines(inner, budget - 2 - wrapTokens, "").map((part) => `${open}\n${part}\n${marker}`);
}

/** Packs lines greedily under a budget, each part starting with `head` (a repeated table header). */
function packLines(lines: string[], budget: number, head: string): string[] {
  const headTokens = head ? estimateTokens(head) + 1 : 0;
  const room = budget - headTokens;
  const parts: string[] = [];
  let cur: string[] = [];
  let tokens = 0;
  const flush = () => {
    if (cur.length) parts.push((head ? head + "\n" : "") + cur.join("\n"));
    cur = [];
    tokens = 0;
  };
  for (const line of lines) {
    const t = estimateTokens(line) + 1;
    if (t > room) {
      flush();
      // A single line longer than a chunk: cut it as prose, without the header.
      parts.push(...splitText(line, budget));
      continue;
    }
    if (tokens + t > room) flush();
    cur.push(line);
    tokens += t;
  }
  flush();
  return parts;
}

const SEPARATORS: RegExp[] = [/\n/, /(?<=[.!?;:])\s+/, /\s+/];

/** Splits prose at the coarsest boundary that works: lines, then sentences, then words, then pieces. */
export function splitText(text: string, budget: number, level = 0): string[] {
  if (estimateTokens(text) <= budget) return [text];
  if (level >= SEPARATORS.length) return cutToBudget(text, budget);
  const sep = SEPARATORS[level];
  const joiner = level === 0 ? "\n" : " ";
  const pieces = text.split(sep).filter((p) => p.length > 0);
  const out: string[] = [];
  let cur = "";
  // Token counts add up across a whitespace joiner (no piece spans white space), so the running total
  // is kept instead of re-counting the growing text for every piece (quadratic on a long paragraph).
  let curTokens = 0;
  for (const piece of pieces) {
    const tokens = estimateTokens(piece);
    if (tokens > budget) {
      if (cur) out.push(cur);
      cur = "";
      curTokens = 0;
      out.push(...splitText(piece, budget, level + 1));
      continue;
    }
    if (cur && curTokens + tokens > budget) {
      out.push(cur);
      cur = piece;
      curTokens = tokens;
    } else {
      cur = cur ? cur + joiner + piece : piece;
      curTokens += tokens;
    }
  }
  if (cur) out.push(cur);
  return out;
}

/** Merges chunks below minTokens into the next chunk (or the previous one, at the end) when it fits. */
function mergeTiny(drafts: Draft[], title: string, maxTokens: number, minTokens: number): Draft[] {
  const fits = (d: Draft) => estimateTokens(`${prefixFor(title, d.path)}\n\n${d.text}`) <= maxTokens;
  const out: Draft[] = [];
  let i = 0;
  while (i < drafts.length) {
    let d = drafts[i];
    // Forward: a small chunk (often a bare heading or a one-line intro) joins what follows it.
    while (i + 1 < drafts.length && estimateTokens(d.text) < minTokens) {
      const next = drafts[i + 1];
      const candidate: Draft = { path: commonOrFirst(d.path, next.path), anchor: d.anchor, text: `${d.text}\n\n${next.text}` };
      if (!fits(candidate)) break;
      d = candidate;
      i++;
    }
    const prev = out[out.length - 1];
    if (prev && estimateTokens(d.text) < minTokens) {
      const candidate: Draft = { path: commonOrFirst(prev.path, d.path), anchor: prev.anchor, text: `${prev.text}\n\n${d.text}` };
      if (fits(candidate)) {
        out[out.length - 1] = candidate;
        i++;
        continue;
      }
    }
    out.push(d);
    i++;
  }
  return out;
}

/** A parent section merged with its child keeps the parent's path; siblings keep what they share. */
function commonOrFirst(a: string[], b: string[]): string[] {
  let n = 0;
  while (n < a.length && n < b.length && a[n] === b[n]) n++;
  return n === a.length ? a : a.slice(0, Math.max(n, 0));
}
