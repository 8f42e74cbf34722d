// Backup payloads through KES. Each snapshot's objects and manifest are sealed (lib/backup/format.ts, as
// before) under a data key of KES key `backups` whose encryption context names the snapshot
// ({purpose: backup-payload, snapshot: <id>}); in the format it takes the place a master key had, with the
// id `kes-<snapshot id>`, so an object a later snapshot reuses keeps naming the key it was sealed with.
// The wrapped data key is kept in the target (`keys/payload/kes-<snapshot id>`); reading backups asks KES
// to open each (KES checks the caller and audits it, and a shredded `backups` opens nothing again).
//
// KES's keys live in the database being backed up, so beside the backups lies the escrow of key `backups`
// (`keys/escrow/backups`: its versions as KES's master keys sealed them; lib/kes/escrow.ts): a restore after
// that database is lost still opens them through KES — never without KES's master keys.
//
// Snapshots written before (sealed directly by a master key) still read with the process's master keys.
import type { MasterKey, KeyRing } from "../crypto/keys";
import { isAppError } from "../errors";
import type { KesClient } from "../kes/client";
import type { KeyEscrow } from "../kes/escrow";
import type { BackupTarget } from "./target";

export const PAYLOAD_KES_KEY = "backups";
const PAYLOAD_PREFIX = "keys/payload/";
export const ESCROW_OBJECT = `keys/escrow/${PAYLOAD_KES_KEY}`;
export const payloadKeyId = (snapshotId: string) => `kes-${snapshotId}`;
const contextFor = (snapshotId: string) => ({ purpose: "backup-payload", snapshot: snapshotId });

/** A failure that means KES cannot be asked at all (down, or this process is not let in): the backup stops. */
const unreachable = (err: unknown) => isAppError(err) && (err.status === 503 || err.status === 401);

async function readEscrow(target: BackupTarget): Promise<KeyEscrow | null> {
  const body = await target.get(ESCROW_OBJECT);
  if (!body) return null;
  try {
    return JSON.parse(body.toString("utf8")) as KeyEscrow;
  } catch {
    return null; // unreadable: KES's own records are asked
  }
}

/**
 * Every payload key of the target that KES opens, with `base`'s master keys (older snapshots) beside them.
 * A key KES refuses (shredded, disabled, another context) is listed in `unavailable` with KES's reason, so
 * whatever needs it says exactly that; KES down throws (503).
 */
export async function openPayloadKeys(target: BackupTarget, kes: KesClient, base: KeyRing | null, opts: { concurrency?: number } = {}): Promise<KeyRing> {
  const byId = new Map(base?.byId ?? []);
  const unavailable = new Map(base?.unavailable ?? []);
  const files = (await target.list(PAYLOAD_PREFIX, { detail: false })).map((f) => f.key).sort();
  const escrow = files.length ? await readEscrow(target) : null;
  let next = 0;
  let newest: MasterKey | null = null;
  const work = Array.from({ length: Math.min(files.length, opts.concurrency ?? 8) }, async () => {
    while (next < files.length) {
      const file = files[next++]!;
      const id = file.slice(PAYLOAD_PREFIX.length);
      const snapshot = id.replace(/^kes-/, "");
      const wrapped = (await target.get(file))?.toString("utf8").trim();
      if (!wrapped) continue;
      try {
        const key = escrow
          ? await kes.decryptDataKeyEscrowed(wrapped, contextFor(snapshot), escrow)
          : await kes.decryptDataKey(wrapped, contextFor(snapshot));
        byId.set(id, { id, key });
      } catch (err) {
        if (unreachable(err) || !isAppError(err)) throw err;
        unavailable.set(id, `the data key of snapshot ${snapshot} (KES key "${PAYLOAD_KES_KEY}"), which KES did not open: ${err.message}`);
      }
    }
  });
  await Promise.all(work);
  for (const f of files) {
    const k = byId.get(f.slice(PAYLOAD_PREFIX.length));
    if (k) newest = k;
  }
  const current = base?.current ?? newest ?? { id: "none", key: Buffer.alloc(32) };
  return { current, byId, origin: { kind: "kes" }, unavailable };
}

/**
 * A new snapshot's payload key from KES (key `backups` made on first use), its wrapped form and the key's
 * escrow stored in the target before any object is written. Returns the ring that seals with it and reads
 * every earlier snapshot (its parent's manifest included). KES down: a 503 before anything is written.
 */
export async function payloadRing(target: BackupTarget, kes: KesClient, base: KeyRing | null, snapshotId: string): Promise<KeyRing> {
  const context = contextFor(snapshotId);
  let dk;
  try {
    dk = await kes.generateDataKey(PAYLOAD_KES_KEY, context);
  } catch (err) {
    if (!isAppError(err) || err.status !== 404) throw err;
    try {
      await kes.createKey(PAYLOAD_KES_KEY);
    } catch (e) {
      if (!isAppError(e) || e.status !== 409) throw e; // another process made it meanwhile
    }
    dk = await kes.generateDataKey(PAYLOAD_KES_KEY, context);
  }
  const escrow = await kes.exportSealed(PAYLOAD_KES_KEY);
  const ring = await openPayloadKeys(target, kes, base);
  const id = payloadKeyId(snapshotId);
  await target.put(ESCROW_OBJECT, Buffer.from(JSON.stringify(escrow)));
  await target.put(`${PAYLOAD_PREFIX}${id}`, Buffer.from(dk.wrapped, "utf8"));
  const current = { id, key: dk.plaintext };
  ring.byId.set(id, current);
  return { ...ring, current };
}

/** Payload key files no manifest uses any more (their snapshots and objects are gone). */
export async function unusedPayloadKeys(target: BackupTarget, used: Set<string>, cutoff: number): Promise<string[]> {
  return (await target.list(PAYLOAD_PREFIX))
    .filter((o) => !used.has(o.key.slice(PAYLOAD_PREFIX.length)) && o.modifiedAt.getTime() <= cutoff)
    .map((o) => o.key);
}
