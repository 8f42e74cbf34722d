// A Notion source's sync state, kept by SOT's Notion sync agent in its cubby (lib/agents/system.ts):
// one value per source (`source.<source id>`), sealed with the cubby's key through KES like any agent's
// value, written through the same cubby service agents use. It holds what the importer knows between
// runs: the last successful sync and its job, the pages it saw, the live documents after it, and the
// high-water mark (the newest Notion edit time among them, what an incremental pass starts from).
// Never a token or page content. The source page shows it; a state that cannot be read (KES down,
// the cubby's key shredded, the agent disabled) is shown as unreadable with the reason, never fatal.
import type { AccessContext } from "../access/context";
import { NOTION_SYNC_AGENT, NOTION_SYNC_CUBBY, ensureSystemAgents, systemAgentContext } from "../agents/system";
import { getItem, setItem } from "../cubbies/service";
import type { Db } from "../db/client";
import { AppError } from "../errors";
import { log } from "../log";
import type { NotionSyncStateView } from "./types";

export const syncStateKey = (sourceId: string) => `source.${sourceId}`;

async function syncAgent(db: Db): Promise<AccessContext> {
  await ensureSystemAgents(db);
  return systemAgentContext(db, NOTION_SYNC_AGENT, { cubby: NOTION_SYNC_CUBBY, operations: ["read", "write"] });
}

/** The state after a successful import of a Notion source, read from the job and the source's documents. */
async function stateAfter(db: Db, sourceId: string, jobId: string): Promise<NotionSyncStateView> {
  const job = await db.prisma.importJob.findUniqueOrThrow({ where: { id: jobId }, select: { kind: true, found: true, done: true, unchanged: true, removed: true, finishedAt: true } });
  const docs = await db.prisma.document.aggregate({ where: { sourceId, deletedAt: null }, _count: { _all: true }, _max: { sourceUpdatedAt: true } });
  return {
    lastSuccessfulSyncAt: (job.finishedAt ?? new Date()).toISOString(),
    jobId,
    jobKind: job.kind,
    pagesSeen: job.found,
    pagesChanged: job.done,
    pagesRemoved: job.removed,
    pageCount: docs._count._all,
    highWaterMark: docs._max.sourceUpdatedAt?.toISOString() ?? null,
  };
}

/**
 * Records the state after a successful import. Optimistic: it writes over the version it read and, if
 * another import wrote meanwhile (409), reads and writes once more. A failure is logged and returned,
 * never thrown: the import itself succeeded.
 */
export async function recordNotionSyncState(db: Db, sourceId: string, jobId: string): Promise<{ ok: true } | { ok: false; error: string }> {
  try {
    const ctx = await syncAgent(db);
    const value = await stateAfter(db, sourceId, jobId);
    for (let attempt = 0; ; attempt++) {
      const current = await getItem(ctx, { cubby: NOTION_SYNC_CUBBY, key: syncStateKey(sourceId) }).catch((err) => {
        if (err instanceof AppError && err.status === 404) return null;
        throw err;
      });
      try {
        await setItem(ctx, { cubby: NOTION_SYNC_CUBBY, key: syncStateKey(sourceId), value: { ...value }, ifVersion: current?.version ?? 0 });
        return { ok: true };
      } catch (err) {
        if (!(err instanceof AppError && err.status === 409) || attempt >= 1) throw err;
      }
    }
  } catch (err) {
    const error = (err as Error).message;
    log("warn", "notion: the sync state could not be recorded in the sync agent's cubby", { sourceId, jobId, error });
    return { ok: false, error };
  }
}

export type SyncStateRead = { state: NotionSyncStateView | null; unreadable: string | null };

/**
 * The states of these sources (the caller has already limited them to sources it may read). One agent
 * context for all; each value is opened through KES with the sync agent's token.
 */
export async function readNotionSyncStates(db: Db, sourceIds: string[]): Promise<Map<string, SyncStateRead>> {
  const out = new Map<string, SyncStateRead>();
  if (sourceIds.length === 0) return out;
  let ctx: AccessContext;
  try {
    ctx = await syncAgent(db);
  } catch (err) {
    for (const id of sourceIds) out.set(id, { state: null, unreadable: (err as Error).message });
    return out;
  }
  await Promise.all(
    sourceIds.map(async (id) => {
      try {
        const item = await getItem(ctx, { cubby: NOTION_SYNC_CUBBY, key: syncStateKey(id) });
        out.set(id, { state: item.value as unknown as NotionSyncStateView, unreadable: null });
      } catch (err) {
        if (err instanceof AppError && err.status === 404 && /^Key /.test(err.message)) out.set(id, { state: null, unreadable: null });
        else out.set(id, { state: null, unreadable: (err as Error).message });
      }
    }),
  );
  return out;
}
