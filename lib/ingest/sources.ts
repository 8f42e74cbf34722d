// Sources as the Sources page and /api/sources see them: kind, collection, document counts, the
// latest import job with its progress. Never secrets: only whether a token / webhook token is set.
import type { Db } from "../db/client";
import { NotFoundError } from "../errors";
import type { SourceView } from "./types";

export type { SourceView } from "./types";

export async function listSources(db: Db, collectionIds: string[]): Promise<SourceView[]> {
  const sources = await db.prisma.source.findMany({
    where: { collectionId: { in: collectionIds } },
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

export async function getSource(db: Db, id: string, collectionIds: string[]): Promise<SourceView> {
  const [s] = (await listSources(db, collectionIds)).filter((x) => x.id === id);
  if (!s) throw new NotFoundError("Source");
  return s;
}
