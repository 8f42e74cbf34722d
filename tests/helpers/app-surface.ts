// The app's surface as the file system declares it: every route handler (route.ts, with the HTTP methods
// it exports) and every page (page.tsx) under app/, as URL patterns. Tests that must cover every route
// and page enumerate them here, so a new file is covered without editing the test.
import { readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";

export const METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"] as const;
export type Method = (typeof METHODS)[number];

const ROOT = path.resolve(import.meta.dirname, "..", "..");
export const APP_DIR = path.join(ROOT, "app");

export interface RouteFile {
  /** URL pattern as Next.js maps the folder: "/api/runs/[id]", "/api/[...path]" (route groups removed). */
  pattern: string;
  methods: Method[];
  file: string;
}

export interface PageFile {
  /** URL pattern, e.g. "/evaluations/runs/[id]"; the root page is "/". */
  pattern: string;
  file: string;
}

/** Folders Next.js does not route: private (_x) and parallel-route slots (@x). */
const skipped = (name: string) => name.startsWith("_") || name.startsWith("@") || name === "node_modules";

function walk(dir: string, onFile: (full: string, segments: string[]) => void, segments: string[] = []): void {
  for (const name of readdirSync(dir).sort()) {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) {
      if (!skipped(name)) walk(full, onFile, [...segments, name]);
    } else onFile(full, segments);
  }
}

/** A route group "(app)" does not appear in the URL. */
function toPattern(segments: string[]): string {
  const parts = segments.filter((s) => !/^\(.*\)$/.test(s));
  return "/" + parts.join("/");
}

/** The HTTP methods a route file exports (`export const GET`, `export async function POST`, `export { h as GET }`). */
export function exportedMethods(source: string): Method[] {
  const found = new Set<Method>();
  for (const m of source.matchAll(/export\s+(?:const|let|async\s+function|function)\s+(GET|POST|PUT|PATCH|DELETE)\b/g)) found.add(m[1] as Method);
  for (const block of source.matchAll(/export\s*\{([^}]*)\}/g)) {
    for (const m of block[1]!.matchAll(/(?:\bas\s+)?\b(GET|POST|PUT|PATCH|DELETE)\b/g)) found.add(m[1] as Method);
  }
  return METHODS.filter((m) => found.has(m));
}

/** Every route.ts under app/ (app/api, app/v1, any other), sorted by pattern. */
export function discoverRoutes(): RouteFile[] {
  const out: RouteFile[] = [];
  walk(APP_DIR, (full, segments) => {
    if (!/^route\.(ts|tsx|js|mjs)$/.test(path.basename(full))) return;
    out.push({ pattern: toPattern(segments), methods: exportedMethods(readFileSync(full, "utf8")), file: path.relative(ROOT, full) });
  });
  return out.sort((a, b) => a.pattern.localeCompare(b.pattern));
}

/** Every page.tsx under app/, sorted by pattern. */
export function discoverPages(): PageFile[] {
  const out: PageFile[] = [];
  walk(APP_DIR, (full, segments) => {
    if (!/^page\.(tsx|ts|jsx|js|mdx)$/.test(path.basename(full))) return;
    out.push({ pattern: toPattern(segments), file: path.relative(ROOT, full) });
  });
  return out.sort((a, b) => a.pattern.localeCompare(b.pattern));
}

/** The dynamic segments of a pattern: [id], [...path] (catch-all), [[...path]] (optional catch-all). */
export function dynamicSegments(pattern: string): string[] {
  return pattern.split("/").filter((s) => /^\[.*\]$/.test(s));
}

/** The pattern with every dynamic segment replaced by `value`. */
export function fillPattern(pattern: string, value: string): string {
  return pattern
    .split("/")
    .map((s) => (/^\[.*\]$/.test(s) ? encodeURIComponent(value) : s))
    .join("/");
}
