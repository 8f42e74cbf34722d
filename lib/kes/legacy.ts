// Data written before KES: secrets at rest in the `sot:v1:` envelope (a data key wrapped directly by a
// master key, constant associated data). Only KES holds the master keys, so only KES can open them; it
// re-seals one into the KES format for a given key and encryption context without the plaintext ever
// leaving it (Vault's rewrap, across formats). The caller gets a blob it decrypts like any other.
import { z } from "zod";
import { audit } from "../audit";
import { DecryptError } from "../crypto/envelope";
import { UnknownKeyError } from "../crypto/keys";
import { decryptSecretWith } from "../crypto/secrets";
import { ForbiddenError, NotFoundError, ValidationError, zodIssuesToDetails } from "../errors";
import { payloadAad, sealWithDataKey } from "./crypto";
import { DecryptFailedError, KesUnavailableError } from "./errors";
import * as q from "./queries";
import { generateDataKey, KEY_NAME_RE, type KesContext } from "./service";

const schema = z.object({
  envelope: z.string().startsWith("sot:v1:", 'must be a legacy secret ("sot:v1:…")').max(64_000),
  name: z.string().regex(KEY_NAME_RE, "must be a key name"),
  context: z
    .record(z.string().min(1).max(100), z.string().max(500))
    .refine((c) => Object.keys(c).length >= 1 && Object.keys(c).length <= 16, "1 to 16 entries: what the secret belongs to"),
});

/**
 * `legacy.reseal-secret {envelope, name, context}` → `{blob, version}`: the legacy secret's plaintext,
 * sealed under a fresh data key of key `name` bound to `context` ("<wrapped>~<payload>", as
 * KesClient.encrypt makes). Only the key's owner may ask: whoever can convert legacy envelopes into a
 * key it can decrypt can read them, and legacy secrets are SOT's own.
 */
export async function resealLegacySecret(ctx: KesContext, input: unknown): Promise<{ blob: string; version: number }> {
  const r = schema.safeParse(input);
  if (!r.success) throw new ValidationError("Invalid KES request.", zodIssuesToDetails(r.error.issues));
  const { envelope, name, context } = r.data;
  if (!ctx.ring) throw new KesUnavailableError("KES has no master key configured (MASTER_KEYS or MASTER_KEY_FILE in KES's environment).");
  const k = await q.keyByName(ctx.db.sql, name);
  if (!k) throw new NotFoundError(`Key "${name}"`);
  const who = { kind: "system" as const, userId: null, apiKeyId: null, label: ctx.onBehalfOf ? `${ctx.caller} for ${ctx.onBehalfOf}` : ctx.caller, role: null, permissions: new Set<never>(), collectionLimit: [] };
  const record = (details: Record<string, unknown>) =>
    audit(ctx.db, who, "kes.legacy.reseal-secret", `kes-key:${name}`, { caller: ctx.caller, context: Object.keys(context).sort(), ...details }, { requestId: ctx.requestId });
  if (k.owner !== ctx.caller) {
    await record({ allowed: false, reason: "not the owner" });
    throw new ForbiddenError(`Only the owner of key "${name}" may re-seal legacy secrets under it.`);
  }
  let plain: Buffer;
  try {
    plain = Buffer.from(decryptSecretWith(ctx.ring, envelope), "utf8");
  } catch (err) {
    if (!(err instanceof DecryptError) && !(err instanceof UnknownKeyError)) throw err;
    await record({ allowed: false, reason: "legacy envelope does not open" });
    throw new DecryptFailedError(`The legacy secret does not open with KES's master keys: ${err.message}`);
  }
  try {
    const dk = await generateDataKey(ctx, { name, context });
    try {
      const blob = `${dk.wrapped}~${sealWithDataKey(dk.plaintext, plain, payloadAad(name, context)).toString("base64url")}`;
      await record({ allowed: true, version: dk.version });
      return { blob, version: dk.version };
    } finally {
      dk.plaintext.fill(0);
    }
  } finally {
    plain.fill(0);
  }
}
