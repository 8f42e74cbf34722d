// Collections as the OpenAI-compatible API and the MCP server name them: by slug (the OpenAI "model"),
// by id or by name. Only collections the caller may read are ever considered, so a name that is wrong
// and a name the caller may not read get the same answer, and the near matches offered never reveal a
// collection outside the caller's access. An unknown name is always an error: a search silently widened
// to every collection would read as if it were scoped.
import type { AccessContext } from "../access/context";
import { NotFoundError } from "../errors";

export interface CollectionRef {
  id: string;
  slug: string;
  name: string;
  description: string;
  createdAt: Date;
}

/** The collections this context may read, by slug: the one query behind every collection picker and model list. */
export async function readableCollections(ctx: AccessContext): Promise<CollectionRef[]> {
  if (ctx.readableIds.length === 0) return [];
  return ctx.db.prisma.collection.findMany({
    where: { id: { in: ctx.readableIds } },
    select: { id: true, slug: true, name: true, description: true, createdAt: true },
    orderBy: { slug: "asc" },
  });
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The readable collection a reference (slug, id or name, any case) names, or undefined. */
export function findCollection(readable: readonly CollectionRef[], ref: string): CollectionRef | undefined {
  const r = ref.trim();
  const lower = r.toLowerCase();
  if (UUID.test(r)) return readable.find((c) => c.id === lower);
  return readable.find((c) => c.slug === lower) ?? readable.find((c) => c.name.toLowerCase() === lower);
}

/** Levenshtein distance, for near matches of mistyped names. */
function distance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0]!;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = prev[j]!;
      prev[j] = Math.min(up + 1, prev[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return prev[b.length]!;
}

/** How alike two names are, 0–1 (1 − edit distance / longer length); a prefix of the other counts as alike. */
function similarity(a: string, b: string): number {
  if (!a || !b) return 0;
  if (a.length >= 3 && (b.startsWith(a) || a.startsWith(b))) return 0.9;
  return 1 - distance(a, b) / Math.max(a.length, b.length);
}

const SUGGESTION_CUTOFF = 0.6;
const MAX_SUGGESTIONS = 5;
const MAX_NAMES_LISTED = 10;

/** Readable slugs that look like `ref`, best first. */
export function nearMatches(readable: readonly CollectionRef[], ref: string): string[] {
  const lower = ref.trim().toLowerCase();
  return readable
    .map((c) => ({ slug: c.slug, score: Math.max(similarity(lower, c.slug), similarity(lower, c.name.toLowerCase())) }))
    .filter((m) => m.score >= SUGGESTION_CUTOFF)
    .sort((a, b) => b.score - a.score || a.slug.localeCompare(b.slug))
    .slice(0, MAX_SUGGESTIONS)
    .map((m) => m.slug);
}

/** "… Did you mean: a, b?" / "… Available: a, b, c." / how to find the list: what to say after "X was not found". */
export function unknownCollectionHint(readable: readonly CollectionRef[], ref: string, listHint: string): string {
  const near = nearMatches(readable, ref);
  if (near.length) return `Did you mean: ${near.join(", ")}?`;
  if (readable.length === 0) return "You may not read any collection.";
  if (readable.length <= MAX_NAMES_LISTED) return `Available: ${readable.map((c) => c.slug).join(", ")}.`;
  return listHint;
}

export class UnknownCollectionError extends NotFoundError {
  constructor(
    readonly ref: string,
    readonly hint: string,
  ) {
    super(`Collection "${ref}"`);
    this.message = `Collection "${ref}" was not found. ${hint}`;
  }
}

/**
 * The collections named by `refs` (slugs, ids or names), every one of them readable; throws
 * UnknownCollectionError for the first that is not, naming near matches. No refs: every readable one.
 */
export async function resolveCollections(
  ctx: AccessContext,
  refs: readonly string[] | undefined | null,
  listHint = "Call list_collections for the current list.",
): Promise<{ all: boolean; collections: CollectionRef[] }> {
  const readable = await readableCollections(ctx);
  if (!refs || refs.length === 0) return { all: true, collections: readable };
  const picked = new Map<string, CollectionRef>();
  for (const ref of refs) {
    const found = findCollection(readable, ref);
    if (!found) throw new UnknownCollectionError(ref, unknownCollectionHint(readable, ref, listHint));
    picked.set(found.id, found);
  }
  return { all: false, collections: [...picked.values()] };
}
