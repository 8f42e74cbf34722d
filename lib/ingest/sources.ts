// Sources as the Sources page and /api/sources see them: kind, collection, document counts, the
// latest import job with its progress. Never secrets: only whether a token / webhook token is set.
import { assertReadable, requireAdmin, type AccessContext } from "../access/context";
import { auditAs } from "../audit";
import type { Db } from "../db/client";
import { NotFoundError } from "../errors";
import { createNotionSource } from "./notion";
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
      latestJob: j
        ? {
            id: j.id,
            kind: j.kind,
            status: j.status,
            phase: j.phase,
            found: j.found,
            done: j.done,
            failed: j.failed,
            unchanged: j.unchanged,
            removed: j.removed,
            warnings: j.warnings,
            createdAt: j.createdAt.toISOString(),
            finishedAt: j.finishedAt?.toISOString() ?? null,
            error: j.error,
          }
        : null,
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
