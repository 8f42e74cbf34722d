// Notion page properties (data source rows) as a person reads them: kept on the document as plain values
// for filters, and written into the page's indexed text as `Name: value` lines, so that "who owns the
// billing API?" is answered by the row that says so. People become names, dates ISO 8601 dates,
// relations the titles of the pages they point to (where the integration may read them).

type RichText = Array<{ plain_text?: string }>;
type Property = Record<string, any> & { type?: string };

/** What property values point to, looked up through Notion (cached per import by the reader). */
export interface PropertyLookups {
  /** A page's title, or null when the integration cannot read it. */
  pageTitle(pageId: string): Promise<string | null>;
  /** A person's name, or null when unknown. */
  userName(userId: string): Promise<string | null>;
}

export type PlainValue = string | number | boolean | string[] | null;

export interface ReadProperties {
  /** Property name → plain value (title left out: it is the document's title). */
  values: Record<string, PlainValue>;
  /** `Name: value` for every property with a value, in Notion's order. */
  lines: string[];
}

const plain = (parts: unknown) => ((parts ?? []) as RichText).map((t) => t.plain_text ?? "").join("");

export function pageTitle(page: { properties?: Record<string, any> }): string {
  for (const prop of Object.values(page.properties ?? {})) {
    if (prop?.type === "title") return plain(prop.title).trim() || "Untitled";
  }
  return "Untitled";
}

async function person(user: { id?: string; name?: string | null } | null | undefined, lookups: PropertyLookups): Promise<string | null> {
  if (!user) return null;
  if (user.name) return user.name;
  return user.id ? lookups.userName(user.id) : null;
}

function isoDate(date: { start?: string | null; end?: string | null } | null | undefined): string | null {
  if (!date?.start) return null;
  return date.end ? `${date.start} → ${date.end}` : date.start;
}

/** One property's plain value. */
export async function propertyValue(prop: Property, lookups: PropertyLookups): Promise<PlainValue> {
  const v = prop[prop.type ?? ""];
  switch (prop.type) {
    case "rich_text":
      return plain(v) || null;
    case "number":
    case "checkbox":
    case "url":
    case "email":
    case "phone_number":
      return v ?? null;
    case "select":
    case "status":
      return v?.name ?? null;
    case "multi_select":
      return ((v ?? []) as Array<{ name: string }>).map((o) => o.name);
    case "date":
      return isoDate(v);
    case "created_time":
    case "last_edited_time":
      return v ?? null;
    case "people": {
      const names = await Promise.all(((v ?? []) as Array<{ id?: string; name?: string }>).map((u) => person(u, lookups)));
      return names.filter((n): n is string => !!n);
    }
    case "created_by":
    case "last_edited_by":
      return person(v, lookups);
    case "relation": {
      const titles = await Promise.all(((v ?? []) as Array<{ id: string }>).map((r) => lookups.pageTitle(r.id)));
      return titles.filter((t): t is string => !!t);
    }
    case "unique_id":
      return v?.number === undefined || v?.number === null ? null : `${v.prefix ? `${v.prefix}-` : ""}${v.number}`;
    case "files":
      return ((v ?? []) as Array<{ name?: string }>).map((f) => f.name ?? "").filter(Boolean);
    case "verification":
      return v?.state ?? null;
    case "formula":
      if (!v) return null;
      return v.type === "date" ? isoDate(v.date) : (v[v.type] ?? null);
    case "rollup": {
      if (!v) return null;
      if (v.type === "number") return v.number ?? null;
      if (v.type === "date") return isoDate(v.date);
      if (v.type === "array") {
        const items = await Promise.all(((v.array ?? []) as Property[]).map((item) => propertyValue(item, lookups)));
        return items.flatMap((i) => (i === null ? [] : Array.isArray(i) ? i : [String(i)]));
      }
      return null;
    }
    default:
      // title (the document's title), button, and types this importer does not know.
      return null;
  }
}

function formatted(value: PlainValue): string | null {
  if (value === null || value === "") return null;
  if (Array.isArray(value)) return value.length ? value.join(", ") : null;
  if (typeof value === "boolean") return value ? "Yes" : "No";
  return String(value);
}

/** Every property of a page (but its title) as plain values and as `Name: value` lines. */
export async function readProperties(page: { properties?: Record<string, any> }, lookups: PropertyLookups): Promise<ReadProperties> {
  const values: Record<string, PlainValue> = {};
  const lines: string[] = [];
  const entries = Object.entries(page.properties ?? {}).filter(([, p]) => p && p.type !== "title");
  const read = await Promise.all(entries.map(([, p]) => propertyValue(p as Property, lookups)));
  entries.forEach(([name], i) => {
    const value = read[i]!;
    values[name] = value;
    const text = formatted(value);
    if (text !== null) lines.push(`${name.trim()}: ${text.replace(/\s*\n\s*/g, " ")}`);
  });
  return { values, lines };
}

/** The lines as the start of the page's markdown (a list, so each stays on its own line when shown). */
export function propertiesMarkdown(lines: string[]): string {
  return lines.map((l) => `- ${l}`).join("\n");
}
