// Sources as the Sources page and /api/sources see them: kind, collection, document counts, the
// latest import job with its progress. Never secrets: only whether a token / webhook token is set.
import { assertReadable, requireAdmin, type AccessContext } from "../access/context";
import { auditAs } from "../audit";
import type { Db } from "../db/client";
import { NotFoundError } from "../errors";
import { importJobSummary } from "./import-jobs";
import { createNotionSource } from "./notion";
import { readNotionSyncStates } from "./notion-sync-state";
import { createS3Source } from "./s3";
import type { SourceView } from "./types";

export type { SourceView } from "./types";

/** Sources of the collections the caller may read, each with its latest import job. */
export async function listSources(ctx: AccessContext): Promise<SourceView[]> {
  return sourceViews(ctx.db, ctx.readableIds);
}

async function sourceViews(db: Db, collectionIds: string[], id?: string): Promise<SourceView[]> {
  const sources = await db.prisma.source.findMany({
    where: { collectionId: { in: collectionIds }, ...(id ? { id } : {}) },
    orderBy: [{ createdAt: "asc" }],
    include: {
      collection: { select: { name: true } },
      importJobs: { orderBy: { createdAt: "desc" }, take: 1 },
      _count: { select: { documents: { where: { deletedAt: null } } } },
    },
  });
  // The sync agent's records, only for the Notion sources found above (those the caller may read).
  const syncStates = await readNotionSyncStates(db, sources.filter((s) => s.kind === "notion").map((s) => s.id));
  return sources.map((s) => {
    const j = s.importJobs[0];
    return {
      id: s.id,
      name: s.name,
      kind: s.kind,
      collectionId: s.collectionId,
      collectionName: s.collection.name,
      status: s.status,
      lastSyncAt: s.lastSyncAt?.toISOString() ?? null,
      lastError: s.lastError,
      documents: s._count.documents,
      config: (s.config ?? {}) as Record<string, unknown>,
      hasSecret: !!s.secretCiphertext,
      webhook:
        s.kind === "notion"
          ? {
              verifiedAt: s.webhookVerifiedAt?.toISOString() ?? null,
              awaitingHandshakeUntil: s.webhookHandshakeUntil && s.webhookHandshakeUntil.getTime() > Date.now() ? s.webhookHandshakeUntil.toISOString() : null,
            }
          : null,
      latestJob: j ? importJobSummary(j) : null,
      syncState: syncStates.get(s.id) ?? null,
    };
  });
}

/** One source the caller may read; 404 otherwise. */
export async function getSource(ctx: AccessContext, id: string): Promise<SourceView> {
  const [s] = await sourceViews(ctx.db, ctx.readableIds, id);
  if (!s) throw new NotFoundError("Source");
  return s;
}

export type ConnectSourceInput =
  | ({ kind: "notion" } & Parameters<typeof createNotionSource>[1])
  | ({ kind: "s3" } & Parameters<typeof createS3Source>[1]);

/** An administrator connects a Notion workspace or an S3 prefix to a collection (secrets stored encrypted); audited. */
export async function connectSource(ctx: AccessContext, input: ConnectSourceInput): Promise<SourceView> {
  requireAdmin(ctx);
  assertReadable(ctx, input.collectionId);
  const created = input.kind === "notion" ? await createNotionSource(ctx.db, input) : await createS3Source(ctx.db, input);
  await auditAs(ctx, "source.create", `source:${created.id}`, { kind: input.kind, name: input.name, collectionId: input.collectionId });
  return getSource(ctx, created.id);
}

/**
 * Deletes a source and the documents it brought in (their chunks go with them). Risky: routes ask for
 * it through an approval (lib/approvals, action "source.delete"), which calls this once approved.
 */
export async function deleteSource(ctx: AccessContext, id: string): Promise<{ sourceId: string; documents: number }> {
  requireAdmin(ctx);
  const src = await ctx.db.prisma.source.findUnique({ where: { id }, select: { kind: true, collectionId: true, _count: { select: { documents: true } } } });
  if (!src) throw new NotFoundError("Source");
  assertReadable(ctx, src.collectionId);
  await ctx.db.prisma.source.delete({ where: { id } });
  await auditAs(ctx, "source.delete", `source:${id}`, { kind: src.kind, collectionId: src.collectionId, documents: src._count.documents });
  return { sourceId: id, documents: src._count.documents };
}
