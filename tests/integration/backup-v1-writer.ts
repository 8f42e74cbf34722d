// The format-1 snapshot writer as it was before format 2 (one object per row, or per owning entity of a
// posting table, named by the SHA-256 of its plaintext; vectors as base64 of their binary form), kept
// here only to make snapshots the way earlier versions of SOT did, so tests prove they still restore.
import { readCatalog, withTransaction, type TableInfo } from "@/lib/backup/catalog";
import { encodeManifest, encodeObject, manifestKey, MANIFEST_FORMAT_V1, objectKey, sha256Hex, type Manifest, type ManifestTable } from "@/lib/backup/format";
import { appliedMigrations, q, sequenceStates, setSnapshotSession } from "@/lib/backup/queries";
import { newSnapshotId } from "@/lib/backup/snapshot";
import type { BackupTarget } from "@/lib/backup/target";
import type { KeyRing } from "@/lib/crypto/keys";
import type { Db } from "@/lib/db/client";

function groupColumn(t: TableInfo): string | null {
  if (t.primaryKey.length < 2) return null;
  const uuids = t.primaryKey.filter((k) => t.columns.find((c) => c.name === k)?.typname === "uuid");
  return uuids.at(-1) ?? t.primaryKey[0];
}

function objectSelectSql(t: TableInfo): string {
  const cols = t.columns
    .map((c) => (c.typname === "vector" ? `encode(vector_send(t.${q(c.name)}), 'base64') AS ${q(c.name)}` : `t.${q(c.name)} AS ${q(c.name)}`))
    .join(", ");
  const plain = !t.hasGenerated && !t.columns.some((c) => c.typname === "vector");
  const row = plain ? "row_to_json(t)" : `(SELECT row_to_json(r) FROM (SELECT ${cols}) r)`;
  const g = groupColumn(t);
  if (!g) {
    const order = (t.primaryKey.length ? t.primaryKey : t.columns.map((c) => c.name).slice(0, 1)).map((c) => `t.${q(c)}`).join(", ");
    return `SELECT '[' || ${row}::text || ']' AS j, 1 AS n FROM public.${q(t.name)} t${order ? ` ORDER BY ${order}` : ""}`;
  }
  const rest = t.primaryKey.filter((k) => k !== g).map((k) => `t.${q(k)}`).join(", ");
  return `SELECT json_agg(${row} ORDER BY ${rest})::text AS j, count(*)::int AS n FROM public.${q(t.name)} t GROUP BY t.${q(g)} ORDER BY t.${q(g)}`;
}

/** Writes a format-1 snapshot of `db` into `target`; returns its id. */
export async function writeV1Snapshot(db: Db, target: BackupTarget, ring: KeyRing, now = new Date()): Promise<string> {
  const snapshotId = newSnapshotId(now);
  const m = await withTransaction(db, "read", async (s) => {
    await setSnapshotSession(s);
    const tables: ManifestTable[] = [];
    let rows = 0;
    let bytes = 0;
    let objects = 0;
    for (const t of await readCatalog(s)) {
      const mt: ManifestTable = {
        name: t.name,
        columns: t.columns.map((c) => ({ name: c.name, type: c.type, ...(c.typname === "vector" ? { vector: true } : {}) })),
        rows: 0,
        objects: [],
      };
      for (const { j, n } of await s.query<{ j: string; n: number }>(objectSelectSql(t))) {
        const plain = Buffer.from(j, "utf8");
        const hash = sha256Hex(plain);
        const body = encodeObject(ring, hash, plain);
        await target.put(objectKey(hash), body);
        mt.objects.push([hash, body.length, 0, Number(n)]);
        mt.rows += Number(n);
        bytes += body.length;
        objects++;
      }
      rows += mt.rows;
      tables.push(mt);
    }
    const manifest: Manifest = {
      format: MANIFEST_FORMAT_V1,
      snapshotId,
      createdAt: now.toISOString(),
      migrations: await appliedMigrations(s),
      keyIds: [ring.current.id],
      tables,
      sequences: await sequenceStates(s),
      totals: { rows, objects, bytes },
    };
    return manifest;
  });
  await target.put(manifestKey(snapshotId), encodeManifest(ring, m));
  return snapshotId;
}
