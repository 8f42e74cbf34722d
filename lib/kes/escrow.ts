// The escrow of a key that protects backups. KES keeps its keys in the database SOT shares, so after that
// database is lost a backup's data keys would have no key left to open them — the very moment backups are
// for. The owner of such a key may therefore export its versions *as the master key sealed them* (useless
// without KES's master keys; the associated data binds each to the key's name and version) and keep that
// beside the backups; KES opens a data key with the escrow only while its own database does not know the
// key at all. A key KES knows is always opened from its own records: disabled, retired or shredded there,
// it stays so, whatever escrow is shown.
import { z } from "zod";
import { audit } from "../audit";
import { ForbiddenError, NotFoundError, ValidationError, zodIssuesToDetails } from "../errors";
import { KEY_NAME_RE, decrypt, type KesContext } from "./service";
import { parseWrapped, unwrapDataKey, unwrapMaterial } from "./crypto";
import { DecryptFailedError, KeyShreddedError, KesUnavailableError } from "./errors";
import { log } from "../log";
import * as q from "./queries";

export interface KeyEscrow {
  name: string;
  versions: Array<{ version: number; masterKeyId: string; material: string }>;
}

const context = z.record(z.string().min(1).max(100), z.string().max(500)).refine((c) => Object.keys(c).length <= 16, "at most 16 entries");
const escrowSchema = z.object({
  name: z.string().regex(KEY_NAME_RE),
  versions: z.array(z.object({ version: z.number().int().min(1), masterKeyId: z.string().min(1).max(40), material: z.string().min(1).max(200) })).max(1000),
});
const schemas = {
  name: z.object({ name: z.string().regex(KEY_NAME_RE, "must be a key name") }),
  decrypt: z.object({ wrapped: z.string().min(1).max(1000), context: context.default({}), escrow: escrowSchema }),
};

function parse<S extends z.ZodTypeAny>(schema: S, input: unknown): z.output<S> {
  const r = schema.safeParse(input);
  if (!r.success) throw new ValidationError("Invalid KES request.", zodIssuesToDetails(r.error.issues));
  return r.data;
}

function record(ctx: KesContext, action: string, name: string, details: Record<string, unknown>): Promise<void> {
  const who = { kind: "system" as const, userId: null, apiKeyId: null, label: ctx.onBehalfOf ? `${ctx.caller} for ${ctx.onBehalfOf}` : ctx.caller, role: null, permissions: new Set<never>(), collectionLimit: [] };
  return audit(ctx.db, who, `kes.${action}`, `kes-key:${name}`, { caller: ctx.caller, ...details }, { requestId: ctx.requestId });
}

/** `keys.export-sealed {name}` → the key's versions as sealed by the master keys. Owner only. */
export async function exportSealed(ctx: KesContext, input: unknown): Promise<KeyEscrow> {
  const { name } = parse(schemas.name, input);
  const k = await q.keyByName(ctx.db.sql, name);
  if (!k) throw new NotFoundError(`Key "${name}"`);
  if (k.owner !== ctx.caller) {
    await record(ctx, "export-sealed", name, { allowed: false, reason: "not the owner" });
    throw new ForbiddenError(`Only the owner of key "${name}" may export it sealed.`);
  }
  if (k.status === "shredded") throw new KeyShreddedError(name);
  const versions = (await q.sealedVersions(ctx.db.sql, k.id))
    .filter((v) => v.material && v.master_key_id)
    .map((v) => ({ version: v.version, masterKeyId: v.master_key_id!, material: Buffer.from(v.material!).toString("base64") }));
  await record(ctx, "export-sealed", name, { allowed: true, versions: versions.map((v) => v.version) });
  return { name, versions };
}

/** Whether KES's database holds the key (a database without KES's tables yet holds none). */
async function knownKey(ctx: KesContext, name: string): Promise<boolean> {
  try {
    return !!(await q.keyByName(ctx.db.sql, name));
  } catch (err) {
    if ((err as { code?: string }).code === "42P01") return false; // undefined_table: an empty database
    throw err;
  }
}

/**
 * `datakey.decrypt-escrowed {wrapped, context, escrow}` → `{plaintext, version}`: as `datakey.decrypt` when
 * KES knows the key (its records decide); otherwise the data key is opened with the escrowed version,
 * which only KES's master keys unseal. Services only.
 */
export async function decryptEscrowed(ctx: KesContext, input: unknown): Promise<{ plaintext: Buffer; version: number }> {
  const { wrapped, context: c, escrow } = parse(schemas.decrypt, input);
  const parsed = parseWrapped(wrapped);
  if (!parsed) throw new ValidationError("wrapped is not a KES wrapped data key.", [{ path: "wrapped", message: 'expected "kes:v1:<key>:<version>:<base64url>"' }]);
  if (await knownKey(ctx, parsed.name)) {
    // A database restored from a snapshot older than the key's newest version knows the key but not that
    // version: its owner may open it from the escrow. Anything else is KES's records' to decide.
    const k = (await q.keyByName(ctx.db.sql, parsed.name))!;
    const lacksVersion = k.status !== "shredded" && k.owner === ctx.caller && !(await q.versionNumbers(ctx.db.sql, k.id)).includes(parsed.version);
    if (!lacksVersion) return decrypt(ctx, { wrapped, context: c });
  }
  if (!ctx.ring) throw new KesUnavailableError("KES has no master key configured (MASTER_KEYS or MASTER_KEY_FILE in KES's environment).");
  if (escrow.name !== parsed.name) throw new DecryptFailedError(`The escrow is of key "${escrow.name}", the data key of key "${parsed.name}".`);
  const v = escrow.versions.find((x) => x.version === parsed.version);
  if (!v) throw new DecryptFailedError(`Key "${parsed.name}" is unknown to KES and its escrow lacks version ${parsed.version}.`);
  const master = ctx.ring.byId.get(v.masterKeyId);
  if (!master) throw new KesUnavailableError(`The escrow of key "${parsed.name}" version ${v.version} is sealed by master key "${v.masterKeyId}", which KES does not hold.`);
  const material = unwrapMaterial(master, parsed.name, parsed.version, Buffer.from(v.material, "base64"));
  if (!material) throw new DecryptFailedError(`The escrow of key "${parsed.name}" version ${v.version} does not unseal with master key "${v.masterKeyId}": altered.`);
  const dataKey = unwrapDataKey(material, parsed.name, parsed.version, c, parsed.sealed);
  material.fill(0);
  if (!dataKey) throw new DecryptFailedError(`The data key does not open under key "${parsed.name}" version ${parsed.version} with this encryption context.`);
  // Logged, not audited, when KES's database does not know the key: that database is about to be restored
  // (an audit row there would make it look not empty, and the restore replaces it anyway).
  if (await knownKey(ctx, parsed.name)) await record(ctx, "decrypt-escrowed", parsed.name, { allowed: true, version: parsed.version });
  else log("info", "kes: a data key opened from its key's escrow", { key: parsed.name, version: parsed.version, caller: ctx.caller });
  return { plaintext: dataKey, version: parsed.version };
}
