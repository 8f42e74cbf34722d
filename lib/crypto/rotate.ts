// Key rotation: a new master key becomes current; old keys stay in the ring so nothing written
// under them becomes unreadable; stored data keys are then re-wrapped under the new key — secrets in
// the database and, on request, backup objects and manifests — without re-encrypting any payload.
import { stat } from "node:fs/promises";
import type { Config } from "../config";
import type { Db } from "../db/client";
import { withTransaction } from "../backup/catalog";
import { decodeManifest, encodeManifest, manifestObjects, objectKey, rewrapObject } from "../backup/format";
import { listSnapshots } from "../backup/snapshot";
import type { BackupTarget } from "../backup/target";
import { rewrap } from "./envelope";
import { generateMasterKey, keySource, KeyConfigError, readKeyFile, ringFrom, writeKeyFile, type KeyRing, type MasterKey } from "./keys";
import { replaceSecret, secretsNotUnder, textColumns } from "./queries";
import { rewrapSecretWith } from "./secrets";

/** Appends a new current key to the key file (file-based rings only); returns the new ring. */
export async function addMasterKey(config: Config): Promise<{ ring: KeyRing; added: MasterKey; file: string }> {
  const src = keySource(config);
  if (src.kind === "env") {
    throw new KeyConfigError(
      "Master keys come from MASTER_KEYS: add a new `<id>:<base64 key>` entry at its END (openssl rand -base64 32), keep the old ones, restart, then run `npm run keys:rotate -- --rewrap-only`.",
    );
  }
  if (src.kind === "missing") {
    throw new KeyConfigError("No master key is configured (MASTER_KEY_FILE or MASTER_KEYS); create one with `npm run keys:rotate -- --init <file>`.");
  }
  // A configured file that does not exist yet is created with its first key.
  const exists = await stat(src.file).then(
    () => true,
    () => false,
  );
  const existing = exists ? await readKeyFile(src.file) : [];
  let added = generateMasterKey();
  while (existing.some((k) => k.id === added.id)) added = generateMasterKey();
  const keys = [...existing, added];
  await writeKeyFile(src.file, keys);
  return { ring: ringFrom(keys, { kind: "file", file: src.file }), added, file: src.file };
}

export interface SecretRewrapResult {
  columns: Array<{ table: string; column: string; rewrapped: number }>;
  rewrapped: number;
}

/**
 * Re-wraps every encrypted secret (`sot:v1:` values in text columns of the public schema) under the
 * current key, in one transaction. Found by scanning the catalog, so secrets other areas store are
 * covered without a list to maintain.
 */
export async function rewrapDatabaseSecrets(db: Pick<Db, "kind" | "url" | "pglite">, ring: KeyRing): Promise<SecretRewrapResult> {
  return withTransaction(db, "write", async (s) => {
    const cols = await textColumns(s);
    const out: SecretRewrapResult = { columns: [], rewrapped: 0 };
    const current = `sot:v1:${ring.current.id}:`;
    for (const { table, column } of cols) {
      const values = await secretsNotUnder(s, table, column, current);
      let n = 0;
      for (const v of values) {
        const next = rewrapSecretWith(ring, v);
        if (next === v) continue;
        await replaceSecret(s, table, column, v, next);
        n++;
      }
      if (n) out.columns.push({ table, column, rewrapped: n });
      out.rewrapped += n;
    }
    return out;
  });
}

/**
 * Re-wraps the data key of every backup object and re-encrypts every manifest under the current key.
 * Object payload bytes are kept as they are. Interrupting it is harmless: the old keys still read
 * whatever was not re-wrapped yet.
 */
export async function rewrapBackups(target: BackupTarget, ring: KeyRing, opts: { concurrency?: number } = {}): Promise<{ objects: number; manifests: number }> {
  const objects = await target.list("objects/");
  const newSize = new Map<string, number>();
  let count = 0;
  let next = 0;
  const workers = Array.from({ length: opts.concurrency ?? 8 }, async () => {
    while (next < objects.length) {
      const o = objects[next++];
      const body = await target.get(o.key);
      if (!body) continue;
      const rewrapped = rewrapObject(ring, o.key, body, (env) => rewrap(ring, env, `Object ${o.key}`));
      if (!rewrapped) continue;
      await target.put(o.key, rewrapped);
      newSize.set(o.key, rewrapped.length);
      count++;
    }
  });
  await Promise.all(workers);

  let manifests = 0;
  for (const snap of await listSnapshots(target)) {
    const body = await target.get(snap.key);
    if (!body) continue;
    if (String(JSON.parse(body.toString("utf8")).keyId).startsWith("kes-")) continue; // sealed by a KES data key
    const m = decodeManifest(ring, snap.key, body);
    let changed = m.keyIds.some((k) => k !== ring.current.id);
    for (const entry of manifestObjects(m)) {
      const size = newSize.get(objectKey(entry[0]));
      if (size !== undefined) entry[1] = size;
      entry[2] = 0;
    }
    m.keyIds = [ring.current.id];
    m.totals.bytes = manifestObjects(m).reduce((sum, o) => sum + o[1], 0);
    changed ||= JSON.parse(body.toString("utf8")).keyId !== ring.current.id;
    if (!changed) continue;
    await target.put(snap.key, encodeManifest(ring, m));
    manifests++;
  }
  return { objects: count, manifests };
}
