// Retention: keep the newest snapshot of each of the last N days and of each of the last W ISO weeks
// (UTC), delete the other manifests, then sweep objects that no remaining manifest references.
// Objects younger than the grace period are left alone: they may belong to a backup still running.
import type { KeyRing } from "../crypto/keys";
import { BackupIntegrityError, decodeManifest, manifestObjects, objectKey } from "./format";
import { unusedPayloadKeys } from "./payload-keys";
import { listSnapshots, type SnapshotEntry } from "./snapshot";
import type { BackupTarget } from "./target";

/** "20261122T015700Z-abc123" → its time. */
export function snapshotTime(id: string): Date {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z/.exec(id);
  return m ? new Date(Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6])) : new Date(0);
}

function isoWeek(d: Date): string {
  const t = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()));
  const day = t.getUTCDay() || 7;
  t.setUTCDate(t.getUTCDate() + 4 - day);
  const yearStart = new Date(Date.UTC(t.getUTCFullYear(), 0, 1));
  const week = Math.ceil(((t.getTime() - yearStart.getTime()) / 86400000 + 1) / 7);
  return `${t.getUTCFullYear()}-W${week}`;
}

/** Which snapshot ids to keep (input newest first). The newest is always kept. */
export function selectKept(ids: string[], keepDaily: number, keepWeekly: number): Set<string> {
  const sorted = [...ids].sort((a, b) => b.localeCompare(a));
  const keep = new Set<string>(sorted.slice(0, 1));
  const pick = (bucket: (d: Date) => string, n: number) => {
    const seen = new Set<string>();
    for (const id of sorted) {
      const b = bucket(snapshotTime(id));
      if (seen.has(b)) continue;
      if (seen.size >= n) break;
      seen.add(b);
      keep.add(id);
    }
  };
  pick((d) => d.toISOString().slice(0, 10), keepDaily);
  pick(isoWeek, keepWeekly);
  return keep;
}

export interface RetentionResult {
  kept: string[];
  deleted: string[];
  swept: number;
}

export async function applyRetention(opts: {
  target: BackupTarget;
  ring: KeyRing;
  keepDaily: number;
  keepWeekly: number;
  /** Unreferenced objects younger than this survive the sweep (default 6 h). */
  graceMs?: number;
  now?: Date;
}): Promise<RetentionResult> {
  const { target, ring } = opts;
  const snaps = await listSnapshots(target);
  const keep = selectKept(
    snaps.map((s) => s.snapshotId),
    opts.keepDaily,
    opts.keepWeekly,
  );
  // An incremental snapshot needs the snapshots it is a layer over: keep them while it is kept.
  const todo = [...keep];
  while (todo.length) {
    const id = todo.pop()!;
    const entry = snaps.find((s) => s.snapshotId === id);
    const body = entry && (await target.get(entry.key));
    if (!body) continue;
    let parent: string | null | undefined;
    try {
      parent = decodeManifest(ring, entry.key, body).parent;
    } catch (err) {
      throw new BackupIntegrityError(`Retention skipped: ${(err as Error).message} Snapshots are kept until every kept manifest can be read.`, entry.key);
    }
    if (parent && !keep.has(parent)) {
      keep.add(parent);
      todo.push(parent);
    }
  }
  const gone: SnapshotEntry[] = snaps.filter((s) => !keep.has(s.snapshotId));
  await target.delete(gone.map((s) => s.key));
  const swept = await sweepObjects({ target, ring, graceMs: opts.graceMs, now: opts.now });
  return { kept: [...keep], deleted: gone.map((s) => s.snapshotId), swept };
}

/** Deletes objects no manifest references. Refuses to sweep when a manifest cannot be read (it might need them). */
export async function sweepObjects(opts: { target: BackupTarget; ring: KeyRing; graceMs?: number; now?: Date }): Promise<number> {
  const { target, ring } = opts;
  const referenced = new Set<string>();
  const keysUsed = new Set<string>();
  for (const s of await listSnapshots(target)) {
    const body = await target.get(s.key);
    if (!body) continue;
    try {
      const m = decodeManifest(ring, s.key, body);
      for (const [hash] of manifestObjects(m)) referenced.add(objectKey(hash));
      for (const id of [...m.keyIds, JSON.parse(body.toString("utf8")).keyId as string]) keysUsed.add(id);
    } catch (err) {
      throw new BackupIntegrityError(`Sweep skipped: ${(err as Error).message} Unreferenced objects are kept until every manifest can be read.`, s.key);
    }
  }
  const cutoff = (opts.now ?? new Date()).getTime() - (opts.graceMs ?? 6 * 3600_000);
  const stale = (await target.list("objects/")).filter((o) => !referenced.has(o.key) && o.modifiedAt.getTime() <= cutoff).map((o) => o.key);
  await target.delete(stale);
  // KES payload keys of snapshots that are gone (and of backups that failed): nothing left uses them.
  await target.delete(await unusedPayloadKeys(target, keysUsed, cutoff));
  return stale.length;
}
