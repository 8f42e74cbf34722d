// Rewrapping a cubby's values as a background job: one KES call per value (datakey.rewrap: the data
// key is unwrapped and wrapped again by the current version inside KES, the value itself never
// decrypted anywhere), which is too long for a request once a cubby holds many values. The run is
// tracked like every other long run (lib/jobs/tracked-run.ts): claimed once, heartbeat and progress on
// its row, first end wins; a retry after a crash resumes (values already under the current version are
// skipped), and an admin-side cancel stops it at its next progress report.
import { requireAdmin, type AccessContext } from "../access/context";
import { audit, auditAs } from "../audit";
import { getDb, type Db } from "../db/client";
import { ConflictError, NotFoundError } from "../errors";
import { defineJob, enqueue } from "../jobs/queue";
import { trackedRuns } from "../jobs/tracked-run";
import { getKes, rewrapBlob } from "../kes/client";
import { parseWrapped } from "../kes/crypto";
import { cubbyKeyName } from "../kes/service";
import { log } from "../log";
import * as q from "./queries";
import { checkName, itemContext } from "./service";
import type { CubbyRewrapView } from "./types";

const runs = trackedRuns("rewrap");
/** Progress is written every this many values (and at the end). */
const PROGRESS_EVERY = 25;

export function rewrapView(r: q.RewrapRow): CubbyRewrapView {
  return {
    id: r.id,
    cubby: r.cubby,
    status: r.status as CubbyRewrapView["status"],
    toVersion: r.to_version,
    itemsTotal: r.items_total,
    itemsDone: r.items_done,
    rewrapped: r.rewrapped,
    requestedBy: r.requested_by,
    error: r.error,
    createdAt: r.created_at.toISOString(),
    startedAt: r.started_at?.toISOString() ?? null,
    finishedAt: r.finished_at?.toISOString() ?? null,
  };
}

export const cubbyRewrapJob = defineJob<{ rewrapId: string }>({
  name: "kes.rewrap",
  handler: async ({ rewrapId }, ctx) => {
    await runRewrap(await getDb(), rewrapId, { signal: ctx.signal });
  },
  retryLimit: 2,
  retryDelaySeconds: 10,
  expireInSeconds: 6 * 3600,
});

export const cubbyJobs = [cubbyRewrapJob];

/**
 * An admin starts a rewrap of the cubby's values (202 on the route): queued, audited. 409 while one is
 * queued or running for the cubby, naming it.
 */
export async function startRewrap(ctx: AccessContext, name: string): Promise<CubbyRewrapView> {
  requireAdmin(ctx);
  checkName(name);
  const cubbyId = await q.cubbyId(ctx.db.sql, name);
  if (!cubbyId) throw new NotFoundError(`Cubby "${name}"`);
  const id = await q.insertRewrap(ctx.db.sql, cubbyId, ctx.principal.label);
  if (!id) {
    const active = await q.activeRewrap(ctx.db.sql, cubbyId);
    throw new ConflictError(`A rewrap of cubby "${name}" is already ${active?.status ?? "running"} (${active?.items_done ?? 0} of ${active?.items_total ?? 0} values done): wait for it to end..`);
  }
  try {
    await enqueue(cubbyRewrapJob, { rewrapId: id });
  } catch (err) {
    await runs.fail(ctx.db.sql, id, `Could not queue the rewrap: ${(err as Error).message}`);
    throw err;
  }
  await auditAs(ctx, "cubby.rewrap.start", `cubby:${name}`, { rewrapId: id });
  return rewrapView((await q.rewrapById(ctx.db.sql, id))!);
}

export async function getRewrap(ctx: AccessContext, id: string): Promise<CubbyRewrapView> {
  requireAdmin(ctx);
  const r = /^[0-9a-f-]{36}$/i.test(id) ? await q.rewrapById(ctx.db.sql, id) : null;
  if (!r) throw new NotFoundError(`Rewrap ${id}`);
  return rewrapView(r);
}

const keyVersionOf = (ciphertext: string) => parseWrapped(ciphertext.slice(0, ciphertext.lastIndexOf("~")))?.version ?? 0;

/**
 * Works through the cubby's values with SOT's own KES credential (the owner of every cubby key). A value
 * written meanwhile is left as it is: a new write already uses the current version.
 */
export async function runRewrap(db: Db, id: string, opts: { signal?: AbortSignal } = {}): Promise<CubbyRewrapView | null> {
  if (!(await runs.claim(db.sql, id, { resume: true }))) return null; // ended already, or another worker has it
  const r = (await q.rewrapById(db.sql, id))!;
  try {
    const kes = (await getKes()).onBehalfOf(`${r.requested_by} (rewrap job)`);
    const keyName = cubbyKeyName(r.cubby);
    const key = await kes.getKey(keyName);
    const items = await q.listItems(db.sql, r.cubby_id);
    await runs.progress(db.sql, id, { to_version: key.currentVersion, items_total: items.length });
    let done = 0;
    let rewrapped = r.rewrapped;
    for (const item of items) {
      opts.signal?.throwIfAborted();
      if (keyVersionOf(item.ciphertext) < key.currentVersion) {
        const { blob } = await rewrapBlob(kes, item.ciphertext, itemContext(r.cubby_id, item.key, item.version));
        if (blob !== item.ciphertext && (await q.replaceCiphertext(db.sql, r.cubby_id, item.key, item.version, blob))) rewrapped++;
      }
      done++;
      if (done % PROGRESS_EVERY === 0 && !(await runs.progress(db.sql, id, { items_done: done, rewrapped }))) {
        log("info", "cubby rewrap stopped: its run was ended elsewhere", { rewrapId: id, cubby: r.cubby });
        return rewrapView((await q.rewrapById(db.sql, id))!);
      }
    }
    await runs.succeed(db.sql, id, { items_done: done, rewrapped });
    await audit(db, null, "cubby.rewrap", `cubby:${r.cubby}`, { rewrapId: id, requestedBy: r.requested_by, toVersion: key.currentVersion, items: done, rewrapped });
  } catch (err) {
    if (opts.signal?.aborted) throw err; // the queue retries; the retry resumes
    await runs.fail(db.sql, id, (err as Error).message);
    await audit(db, null, "cubby.rewrap", `cubby:${r.cubby}`, { rewrapId: id, requestedBy: r.requested_by, allowed: false, reason: (err as Error).message });
    log("warn", "cubby rewrap failed", { rewrapId: id, cubby: r.cubby, error: (err as Error).message });
  }
  return rewrapView((await q.rewrapById(db.sql, id))!);
}
