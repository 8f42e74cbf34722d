// A canary: a random token planted in one collection's data, so any answer, page or header that carries
// it proves that data crossed the boundary. Each place it is planted gets its own tag (`<base>-doc`,
// `<base>-fb`…), so a finding names what leaked. The base is lowercase letters and digits only: it
// survives JSON, HTML, CSV and URL encoding unchanged, and search tokenisers keep it whole.
import { randomBytes } from "node:crypto";
import type { Db } from "@/lib/db/client";

export const CANARY_TAGS = {
  doc: "a wiki page's text",
  conv: "a conversation's title",
  log: "a logged question",
  fb: "a feedback comment",
  item: "a dataset item (and the run items asked from it)",
  ann: "an annotation's comment",
  audit: "an audit entry (the uploaded file's name)",
  cubby: "a value in a cubby of an agent of R's admin (encrypted through KES)",
} as const;
export type CanaryTag = keyof typeof CANARY_TAGS;

export interface Canary {
  base: string;
  tag(t: CanaryTag): string;
  /** The tags found in `text` ("?" for the bare base); empty when the canary is absent. */
  find(text: string): string[];
}

export function newCanary(): Canary {
  const base = `cnry${randomBytes(8).toString("hex")}`;
  const re = new RegExp(`${base}(?:-([a-z]+))?`, "gi");
  return {
    base,
    tag: (t) => `${base}-${t}`,
    find(text) {
      if (!text.toLowerCase().includes(base)) return [];
      return [...new Set([...text.matchAll(re)].map((m) => m[1]?.toLowerCase() ?? "?"))].sort();
    },
  };
}

/** Everything a response says: status line, headers and body. */
export function responseText(res: { status: number; headers: Headers; text: string }): string {
  return `${res.status}\n${[...res.headers].map(([k, v]) => `${k}: ${v}`).join("\n")}\n\n${res.text}`;
}

async function tablesWithId(db: Db): Promise<Array<{ table: string; hasId: boolean }>> {
  const rows = await db.sql.query<{ table_name: string; has_id: boolean }>(
    `SELECT t.table_name,
            EXISTS (SELECT 1 FROM information_schema.columns c
                     WHERE c.table_schema = 'public' AND c.table_name = t.table_name AND c.column_name = 'id') AS has_id
       FROM information_schema.tables t
      WHERE t.table_schema = 'public' AND t.table_type = 'BASE TABLE' AND t.table_name <> '_prisma_migrations'
      ORDER BY 1`,
  );
  return rows.map((r) => ({ table: r.table_name, hasId: r.has_id }));
}

/**
 * Every row of the app's tables whose text mentions any of `needles` (the canary, the protected
 * collection's ids), as "table:id" (or "table:#<row hash>" where a table has no id column) → a hash of
 * the whole row. Two snapshots differ when such a row was added (data copied, a score or skip recorded on
 * a protected item), removed or changed.
 */
export async function rowsMentioning(db: Db, needles: string[]): Promise<Map<string, string>> {
  const lower = needles.map((n) => n.toLowerCase());
  const out = new Map<string, string>();
  for (const { table, hasId } of await tablesWithId(db)) {
    const rows = await db.sql.query<{ id: string | null; h: string }>(
      `SELECT ${hasId ? "t.id::text" : "NULL"} AS id, md5(t::text) AS h FROM "${table}" t
        WHERE EXISTS (SELECT 1 FROM unnest($1::text[]) n WHERE strpos(lower(t::text), n) > 0)`,
      [lower],
    );
    for (const r of rows) out.set(`${table}:${r.id ?? `#${r.h}`}`, r.h);
  }
  return out;
}

/** What changed between two snapshots, per table: "added to scores: 3 rows (e.g. scores:…)". */
export function diffRows(before: Map<string, string>, after: Map<string, string>): string[] {
  const groups = new Map<string, string[]>();
  const note = (what: string, key: string) => {
    const table = key.split(":")[0]!;
    const k = `${what} ${table}`;
    groups.set(k, [...(groups.get(k) ?? []), key]);
  };
  for (const [k, h] of before) {
    if (!after.has(k)) note("removed from", k);
    else if (after.get(k) !== h) note("changed in", k);
  }
  for (const k of after.keys()) if (!before.has(k)) note("added to", k);
  return [...groups].map(([k, keys]) => `${k}: ${keys.length} row${keys.length > 1 ? "s" : ""} (e.g. ${keys[0]})`).sort();
}
