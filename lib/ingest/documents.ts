// One document as the read-only document page (/documents/[id]) shows it: where a citation opens when
// its source has no web address (demo://, s3://, uploads). Only documents in a collection the principal
// may read, and not deleted; anything else is null, so a caller cannot tell "forbidden" from "missing".
import type { AccessContext } from "../access/context";
import type { DocumentView } from "./types";

export type { DocumentChunkView, DocumentView } from "./types";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isUuid(value: unknown): value is string {
  return typeof value === "string" && UUID.test(value);
}

/** The document with its chunks, or null when it is unknown, deleted or in a collection the principal may not read. */
export async function getDocumentView(ctx: AccessContext, documentId: string): Promise<DocumentView | null> {
  if (!isUuid(documentId)) return null;
  if (ctx.readableIds.length === 0) return null;
  const doc = await ctx.db.prisma.document.findFirst({
    where: { id: documentId, deletedAt: null, collectionId: { in: ctx.readableIds } },
    select: {
      id: true,
      title: true,
      breadcrumb: true,
      url: true,
      collectionId: true,
      sourceUpdatedAt: true,
      collection: { select: { name: true } },
      source: { select: { kind: true } },
      chunks: {
        orderBy: { position: "asc" },
        select: { id: true, position: true, headingPath: true, anchor: true, text: true },
      },
    },
  });
  if (!doc) return null;
  return {
    id: doc.id,
    title: doc.title,
    breadcrumb: doc.breadcrumb,
    url: doc.url,
    collectionId: doc.collectionId,
    collectionName: doc.collection.name,
    sourceKind: doc.source.kind,
    sourceUpdatedAt: doc.sourceUpdatedAt?.toISOString() ?? null,
    chunks: doc.chunks,
  };
}
