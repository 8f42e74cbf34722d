// KES's operations, each `fn(ctx, input)`: the context says who calls (a service credential or, later,
// an agent token, already authenticated by lib/kes/protocol.ts), and every operation checks that caller
// against the key's owner, readers and live grants itself, reading them fresh on every call (a revoke
// holds for the very next call), and audits what it did or refused (never key material or plaintext).
//
// Key lifecycle (Vault transit / Tink): create (version 1, current) → addVersion (not yet used for new
// data keys, so every KES has it before it is used) → promote (new data keys use it) → rewrap old data
// keys (plaintext never leaves KES) → setMinDecryptionVersion (older versions are refused) → shred
// (material destroyed: nothing under the key opens again).
import { z } from "zod";
import { auditRow } from "../audit";
import type { Principal } from "../auth/roles";
import type { KeyRing } from "../crypto/keys";
import type { Db } from "../db/client";
import type { CubbyOperation } from "../agents/types";
import { ConflictError, ForbiddenError, NotFoundError, ValidationError, zodIssuesToDetails } from "../errors";
import { randomBytes } from "node:crypto";
import {
  formatWrapped,
  newMaterial,
  parseWrapped,
  unwrapDataKey,
  unwrapMaterial,
  wrapDataKey,
  wrapMaterial,
  type EncryptionContext,
} from "./crypto";
import { DecryptFailedError, KeyDisabledError, KeyShreddedError, KesUnavailableError, VersionRetiredError } from "./errors";
import { writeKesAudit } from "./audit-writer";
import * as q from "./queries";

/** "service:<name>" (a service credential) or "agent:<id>". */
export type CallerId = string;

/**
 * An agent token's narrowing (lib/agents/tokens.ts): the caller is its authority ("agent:<root>"), but
 * only on the one cubby's key when it names one, and only for the operations it carries.
 */
export interface KesAgentScope {
  /** The chain, holder first, for the audit trail: "agent:b via agent:a". */
  label: string;
  cubby: string | null;
  operations: CubbyOperation[];
}

export interface KesContext {
  db: Db;
  /** Set when an agent calls with its token. */
  agent?: KesAgentScope;
  /** The master keys; only the KES process (or the embedded default's one process) holds them. */
  ring: KeyRing | null;
  caller: CallerId;
  /** The person or agent the calling service acts for, for the audit trail only (never for access). */
  onBehalfOf?: string | null;
  requestId?: string;
  /**
   * The call's key, read in the same statement that authenticated the agent's token (lib/kes/protocol.ts),
   * for this call only: a data-key call then reads the database once before it answers.
   */
  preloaded?: PreloadedKey;
}

export interface PreloadedKey {
  name: string;
  version: number | null;
  row: q.KeyForCallRow | null;
}

export const KEY_NAME_RE = /^[a-z0-9][a-z0-9._-]{0,99}$/;
const keyName = z.string().regex(KEY_NAME_RE, "must be 1-100 lower-case letters, digits, '.', '_' or '-', starting with a letter or digit");
const principalName = z.string().regex(/^(service|agent):[A-Za-z0-9._-]{1,100}$/, 'must be "service:<name>" or "agent:<id>"');
const context = z
  .record(z.string().min(1).max(100), z.string().max(500))
  .refine((c) => Object.keys(c).length <= 16, "at most 16 entries")
  .default({});
/** generate and decrypt data keys; grant: give others (a subset of) one's own operations on the key. */
export const OPERATIONS = ["generate", "decrypt", "grant"] as const;
export type KesOperation = (typeof OPERATIONS)[number];

/** A cubby's operations are its key's: read = decrypt, write = generate, grant = grant. */
export const CUBBY_TO_KES: Record<CubbyOperation, KesOperation> = { read: "decrypt", write: "generate", grant: "grant" };
export const KES_TO_CUBBY: Record<KesOperation, CubbyOperation> = { decrypt: "read", generate: "write", grant: "grant" };
/** The key of a cubby. */
export const cubbyKeyName = (cubby: string) => `cubby.${cubby}`;

export const schemas = {
  createKey: z.object({ name: keyName, readers: z.array(principalName).max(100).default([]) }),
  name: z.object({ name: keyName }),
  version: z.object({ name: keyName, version: z.number().int().min(1) }),
  grant: z.object({
    name: keyName,
    grantee: principalName,
    operations: z.array(z.enum(OPERATIONS)).min(1, "name at least one operation"),
    expiresAt: z.string().datetime({ offset: true }).nullable().default(null),
  }),
  revoke: z.object({ name: keyName, grantee: principalName }),
  list: z.object({ prefix: z.string().max(100).nullable().default(null) }),
  generateDataKey: z.object({ name: keyName, context }),
  decrypt: z.object({ wrapped: z.string().min(1).max(1000), context }),
};

function parse<S extends z.ZodTypeAny>(schema: S, input: unknown): z.output<S> {
  const r = schema.safeParse(input);
  if (!r.success) throw new ValidationError("Invalid KES request.", zodIssuesToDetails(r.error.issues));
  return r.data;
}

export interface KeyView {
  name: string;
  owner: string;
  readers: string[];
  status: q.KeyRow["status"];
  currentVersion: number;
  minDecryptionVersion: number;
  versions: number[];
  createdAt: string;
  shreddedAt: string | null;
}

export interface GrantView {
  id: string;
  grantee: string;
  operations: string[];
  expiresAt: string | null;
  createdBy: string;
  createdAt: string;
  revokedAt: string | null;
  active: boolean;
}

function grantView(g: q.GrantRow, now = Date.now()): GrantView {
  return {
    id: g.id,
    grantee: g.grantee,
    operations: g.operations,
    expiresAt: g.expires_at?.toISOString() ?? null,
    createdBy: g.created_by,
    createdAt: g.created_at.toISOString(),
    revokedAt: g.revoked_at?.toISOString() ?? null,
    active: !g.revoked_at && (!g.expires_at || g.expires_at.getTime() > now),
  };
}

async function keyView(ctx: KesContext, k: q.KeyRow): Promise<KeyView> {
  return {
    name: k.name,
    owner: k.owner,
    readers: k.readers,
    status: k.status,
    currentVersion: k.current_version,
    minDecryptionVersion: k.min_decryption_version,
    versions: await q.versionNumbers(ctx.db.sql, k.id),
    createdAt: k.created_at.toISOString(),
    shreddedAt: k.shredded_at?.toISOString() ?? null,
  };
}

function auditor(ctx: KesContext): Principal {
  return {
    kind: "system",
    userId: null,
    apiKeyId: null,
    label: ctx.agent ? ctx.agent.label : ctx.onBehalfOf ? `${ctx.caller} for ${ctx.onBehalfOf}` : ctx.caller,
    role: null,
    permissions: new Set(),
    collectionLimit: [],
  };
}

async function record(ctx: KesContext, action: string, name: string, details: Record<string, unknown>): Promise<void> {
  // Committed before the call answers; concurrent calls share one INSERT (lib/kes/audit-writer.ts).
  await writeKesAudit(ctx.db, auditRow(auditor(ctx), `kes.${action}`, `kes-key:${name}`, { caller: ctx.caller, ...details }, { requestId: ctx.requestId }));
}

function requireRing(ctx: KesContext): KeyRing {
  if (!ctx.ring) throw new KesUnavailableError("KES has no master key configured (MASTER_KEYS or MASTER_KEY_FILE in KES's environment).");
  return ctx.ring;
}

/** Whether an agent token's narrowing lets it do `op` with key `name` (always, for a service). */
function scopeAllows(ctx: KesContext, name: string, op: KesOperation): boolean {
  if (!ctx.agent) return true;
  if (ctx.agent.cubby !== null && name !== cubbyKeyName(ctx.agent.cubby)) return false;
  return ctx.agent.operations.includes(KES_TO_CUBBY[op]);
}

function scopeRefusal(ctx: KesContext, name: string, op: KesOperation): string {
  return ctx.agent?.cubby !== null && name !== cubbyKeyName(ctx.agent!.cubby!)
    ? `this token is for cubby "${ctx.agent!.cubby}" only`
    : `this token does not carry "${KES_TO_CUBBY[op]}"`;
}

/** The caller's operations on a key now: all for the owner, generate+decrypt for a reader, its live grants. */
function callerOps(ctx: KesContext, k: q.KeyForCallRow): KesOperation[] {
  const own = k.owner === ctx.caller ? [...OPERATIONS] : k.readers.includes(ctx.caller) ? ["generate", "decrypt"] : [];
  return OPERATIONS.filter((op) => (own.includes(op) || k.granted_ops.includes(op)) && scopeAllows(ctx, k.name, op));
}

/** A key the caller owns (management operations); refusals are audited. */
async function ownedKey(ctx: KesContext, name: string, action: string): Promise<q.KeyRow> {
  const k = await q.keyByName(ctx.db.sql, name);
  if (!k) throw new NotFoundError(`Key "${name}"`);
  if (k.owner !== ctx.caller) {
    await record(ctx, action, name, { allowed: false, reason: "not the owner" });
    throw new ForbiddenError(`Only the owner of key "${name}" may ${action.replace(/-/g, " ")} it.`);
  }
  return k;
}

// Unwrapped key versions, kept in memory by KES (which holds the master keys anyway) so a data-key call
// does not unwrap its version again. An entry is found by the wrapped material read on this very call:
// a shredded version (material gone) never reaches the cache, and a version wrapped anew is a new entry.
const unwrappedVersions = new WeakMap<KeyRing, Map<string, Buffer>>();
const MAX_UNWRAPPED = 1000;

/** The version's material (a copy the caller may zero). */
function material(ctx: KesContext, k: q.KeyForCallRow, version: number): Buffer {
  const ring = requireRing(ctx);
  if (!k.material || !k.master_key_id) throw new KeyShreddedError(k.name);
  let cache = unwrappedVersions.get(ring);
  if (!cache) unwrappedVersions.set(ring, (cache = new Map()));
  const wrapped = Buffer.from(k.material);
  const id = `${k.master_key_id}\n${k.name}\n${version}\n${wrapped.toString("base64")}`;
  const cached = cache.get(id);
  if (cached) return Buffer.from(cached);
  const master = ring.byId.get(k.master_key_id);
  if (!master) {
    throw new KesUnavailableError(`Key "${k.name}" version ${version} is wrapped by master key "${k.master_key_id}", which KES does not hold.`);
  }
  const m = unwrapMaterial(master, k.name, version, wrapped);
  if (!m) throw new DecryptFailedError(`Key "${k.name}" version ${version} does not unwrap with master key "${k.master_key_id}".`);
  if (cache.size >= MAX_UNWRAPPED) cache.delete(cache.keys().next().value!);
  cache.set(id, Buffer.from(m));
  return m;
}

/** The key of a data-key call with `caller`'s grants: the row read with the token when there is one, else read now. */
async function keyForCallOf(ctx: KesContext, name: string, version: number | null): Promise<q.KeyForCallRow | null> {
  const p = ctx.preloaded;
  if (p && p.name === name && p.version === version) {
    ctx.preloaded = undefined; // one call, one use: a second look reads afresh
    return p.row;
  }
  return q.keyForCall(ctx.db.sql, name, version, ctx.caller);
}

/** Loads the key for a data-key call and checks the caller may do `op` now; audits refusals. */
async function keyFor(ctx: KesContext, name: string, version: number | null, op: KesOperation, action: string): Promise<q.KeyForCallRow> {
  const k = await keyForCallOf(ctx, name, version);
  if (!k) {
    await record(ctx, action, name, { allowed: false, reason: "unknown key" });
    throw new NotFoundError(`Key "${name}"`);
  }
  // Shredded first: whoever asks, nothing under it opens again (its grants went with it), and says so.
  if (k.status === "shredded") {
    await record(ctx, action, name, { allowed: false, reason: "shredded" });
    throw new KeyShreddedError(name);
  }
  if (!scopeAllows(ctx, name, op)) {
    await record(ctx, action, name, { allowed: false, reason: scopeRefusal(ctx, name, op) });
    throw new ForbiddenError(`${ctx.agent!.label} may not ${op} with key "${name}": ${scopeRefusal(ctx, name, op)}.`);
  }
  const allowed = k.owner === ctx.caller || k.readers.includes(ctx.caller) || k.granted_ops.includes(op);
  if (!allowed) {
    await record(ctx, action, name, { allowed: false, reason: `no ${op} permission` });
    throw new ForbiddenError(`${ctx.caller} may not ${op} with key "${name}" (not its owner, not a reader, no live grant).`);
  }
  if (k.status === "disabled") {
    await record(ctx, action, name, { allowed: false, reason: "disabled" });
    throw new KeyDisabledError(name);
  }
  return k;
}

// ── keys ──

export async function createKey(ctx: KesContext, input: unknown): Promise<KeyView> {
  const { name, readers } = parse(schemas.createKey, input);
  const ring = requireRing(ctx);
  const m = newMaterial();
  const row = await q.insertKey(ctx.db.sql, {
    name,
    owner: ctx.caller,
    readers: [...new Set(readers)],
    masterKeyId: ring.current.id,
    material: wrapMaterial(ring.current, name, 1, m),
  });
  m.fill(0);
  if (!row) throw new ConflictError(`Key "${name}" already exists.`);
  await record(ctx, "create", name, { allowed: true, readers: row.readers });
  return keyView(ctx, row);
}

export async function getKey(ctx: KesContext, input: unknown): Promise<KeyView> {
  const { name } = parse(schemas.name, input);
  const k = await q.keyByName(ctx.db.sql, name);
  if (!k || (k.owner !== ctx.caller && !k.readers.includes(ctx.caller))) throw new NotFoundError(`Key "${name}"`);
  return keyView(ctx, k);
}

/** The keys the caller owns, reads or holds a live grant on (an agent token narrowed to a cubby: that one). */
export async function listKeys(ctx: KesContext, input: unknown = {}): Promise<KeyView[]> {
  const { prefix } = parse(schemas.list, input);
  const rows = await q.listKeys(ctx.db.sql, ctx.caller, prefix);
  const visible = ctx.agent?.cubby ? rows.filter((k) => k.name === cubbyKeyName(ctx.agent!.cubby!)) : rows;
  return Promise.all(visible.map((k) => keyView(ctx, k)));
}

/**
 * What the caller may do with a key now (read fresh, like every check): its operations, narrowed by its
 * token. A key it may do nothing with answers like an unknown one (404).
 */
export async function access(ctx: KesContext, input: unknown): Promise<{ name: string; operations: KesOperation[]; status: q.KeyRow["status"] }> {
  const { name } = parse(schemas.name, input);
  const k = await keyForCallOf(ctx, name, null);
  if (k?.status === "shredded") throw new KeyShreddedError(name);
  const operations = k ? callerOps(ctx, k) : [];
  if (!k || operations.length === 0) throw new NotFoundError(`Key "${name}"`);
  return { name, operations, status: k.status };
}

/** A new version, not yet used for new data keys (promote it once every KES has it). */
export async function addVersion(ctx: KesContext, input: unknown): Promise<KeyView> {
  const { name } = parse(schemas.name, input);
  const ring = requireRing(ctx);
  const k = await ownedKey(ctx, name, "add-version");
  if (k.status === "shredded") throw new KeyShreddedError(name);
  const version = await q.insertVersion(ctx.db.sql, k.id, (v) => {
    const m = newMaterial();
    const wrapped = wrapMaterial(ring.current, name, v, m);
    m.fill(0);
    return { masterKeyId: ring.current.id, material: wrapped };
  });
  await record(ctx, "add-version", name, { allowed: true, version });
  return keyView(ctx, (await q.keyByName(ctx.db.sql, name))!);
}

export async function promoteVersion(ctx: KesContext, input: unknown): Promise<KeyView> {
  const { name, version } = parse(schemas.version, input);
  const k = await ownedKey(ctx, name, "promote");
  if (k.status === "shredded") throw new KeyShreddedError(name);
  const versions = await q.versionNumbers(ctx.db.sql, k.id);
  if (!versions.includes(version)) throw new ValidationError(`Key "${name}" has no version ${version}.`, [{ path: "version", message: `one of ${versions.join(", ")}` }]);
  if (version < k.min_decryption_version) {
    throw new ValidationError(`Version ${version} is below minDecryptionVersion ${k.min_decryption_version}.`, [{ path: "version", message: "retired" }]);
  }
  await q.setVersions(ctx.db.sql, k.id, { current: version });
  await record(ctx, "promote", name, { allowed: true, version, previous: k.current_version });
  return keyView(ctx, (await q.keyByName(ctx.db.sql, name))!);
}

export async function setMinDecryptionVersion(ctx: KesContext, input: unknown): Promise<KeyView> {
  const { name, version } = parse(schemas.version, input);
  const k = await ownedKey(ctx, name, "set-min-decryption-version");
  if (version > k.current_version) {
    throw new ValidationError(`minDecryptionVersion ${version} would refuse the current version ${k.current_version}.`, [
      { path: "version", message: `at most ${k.current_version}` },
    ]);
  }
  await q.setVersions(ctx.db.sql, k.id, { min: version });
  await record(ctx, "set-min-decryption-version", name, { allowed: true, version, previous: k.min_decryption_version });
  return keyView(ctx, (await q.keyByName(ctx.db.sql, name))!);
}

export async function setKeyEnabled(ctx: KesContext, input: unknown, enabled: boolean): Promise<KeyView> {
  const { name } = parse(schemas.name, input);
  const k = await ownedKey(ctx, name, enabled ? "enable" : "disable");
  if (k.status === "shredded") throw new KeyShreddedError(name);
  await q.setStatus(ctx.db.sql, k.id, enabled ? "active" : "disabled");
  await record(ctx, enabled ? "enable" : "disable", name, { allowed: true });
  return keyView(ctx, (await q.keyByName(ctx.db.sql, name))!);
}

/** Destroys the key's material for good. */
export async function shredKey(ctx: KesContext, input: unknown): Promise<KeyView> {
  const { name } = parse(schemas.name, input);
  const k = await ownedKey(ctx, name, "shred");
  await q.shredKey(ctx.db.sql, k.id);
  await record(ctx, "shred", name, { allowed: true });
  return keyView(ctx, (await q.keyByName(ctx.db.sql, name))!);
}

// ── grants ──

/**
 * The key for a grant operation: its owner may do anything; a holder of a live "grant" grant (AWS KMS's
 * CreateGrant) may grant at most what it holds, until its own grant ends, and revoke what it granted.
 */
async function grantingKey(ctx: KesContext, name: string, action: string): Promise<{ k: q.KeyForCallRow; owner: boolean; ops: KesOperation[] }> {
  const k = await q.keyForCall(ctx.db.sql, name, null, ctx.caller);
  if (!k) throw new NotFoundError(`Key "${name}"`);
  const ops = callerOps(ctx, k);
  const owner = k.owner === ctx.caller && !ctx.agent;
  if (!owner && !ops.includes("grant")) {
    await record(ctx, action, name, { allowed: false, reason: ctx.agent && !scopeAllows(ctx, name, "grant") ? scopeRefusal(ctx, name, "grant") : "no grant permission" });
    throw new ForbiddenError(`${ctx.agent?.label ?? ctx.caller} may not grant or revoke access to key "${name}" (no live "grant" grant).`);
  }
  return { k, owner, ops };
}

export async function grant(ctx: KesContext, input: unknown): Promise<GrantView> {
  const g = parse(schemas.grant, input);
  const { k, owner, ops } = await grantingKey(ctx, g.name, "grant");
  if (k.status === "shredded") throw new KeyShreddedError(g.name);
  const expiresAt = g.expiresAt ? new Date(g.expiresAt) : null;
  if (expiresAt && expiresAt.getTime() <= Date.now()) {
    throw new ValidationError("expiresAt is in the past.", [{ path: "expiresAt", message: "must be in the future" }]);
  }
  if (!owner) {
    const wider = g.operations.filter((op) => !ops.includes(op));
    if (wider.length) {
      await record(ctx, "grant", g.name, { allowed: false, reason: `would widen: ${wider.join(", ")}`, grantee: g.grantee });
      throw new ForbiddenError(`A grant cannot give more than its granter holds: you do not hold ${wider.join(", ")} on key "${g.name}".`);
    }
    if (k.grant_until && (!expiresAt || expiresAt > k.grant_until)) {
      await record(ctx, "grant", g.name, { allowed: false, reason: "would outlive the granter's grant", grantee: g.grantee });
      throw new ValidationError("A grant cannot outlive the granter's own.", [
        { path: "expiresAt", message: `must be no later than ${k.grant_until.toISOString()}, when your grant ends` },
      ]);
    }
  }
  const row = await q.insertGrant(ctx.db.sql, {
    keyId: k.id,
    grantee: g.grantee,
    operations: [...new Set(g.operations)],
    expiresAt,
    createdBy: ctx.caller,
  });
  await record(ctx, "grant", g.name, { allowed: true, grantee: g.grantee, operations: row.operations, expiresAt: g.expiresAt });
  return grantView(row);
}

/** The owner revokes any grant of the grantee; a holder of "grant" the ones it made or that carry no "grant". */
export async function revoke(ctx: KesContext, input: unknown): Promise<{ revoked: number }> {
  const { name, grantee } = parse(schemas.revoke, input);
  const { k, owner } = await grantingKey(ctx, name, "revoke");
  const revoked = await q.revokeGrants(ctx.db.sql, k.id, grantee, owner ? null : ctx.caller);
  await record(ctx, "revoke", name, { allowed: true, grantee, revoked });
  return { revoked };
}

export async function listGrants(ctx: KesContext, input: unknown): Promise<GrantView[]> {
  const { name } = parse(schemas.name, input);
  const { k } = await grantingKey(ctx, name, "list-grants");
  const now = Date.now();
  return (await q.listGrants(ctx.db.sql, k.id)).map((g) => grantView(g, now));
}

// ── data keys ──

export interface DataKey {
  /** 32 bytes; the caller encrypts with it and forgets it. */
  plaintext: Buffer;
  /** Store this beside the ciphertext: "kes:v1:<key>:<version>:…". */
  wrapped: string;
  version: number;
}

export async function generateDataKey(ctx: KesContext, input: unknown): Promise<DataKey> {
  const { name, context: c } = parse(schemas.generateDataKey, input);
  const k = await keyFor(ctx, name, null, "generate", "generate");
  const version = k.current_version;
  const m = material(ctx, k, version);
  const plaintext = randomBytes(32);
  const wrapped = formatWrapped(name, version, wrapDataKey(m, name, version, c, plaintext));
  m.fill(0);
  await record(ctx, "generate", name, { allowed: true, version, context: Object.keys(c).sort() });
  return { plaintext, wrapped, version };
}

async function unwrap(ctx: KesContext, wrapped: string, c: EncryptionContext, action: string): Promise<{ dataKey: Buffer; k: q.KeyForCallRow; version: number }> {
  const parsed = parseWrapped(wrapped);
  if (!parsed) {
    throw new ValidationError("wrapped is not a KES wrapped data key.", [{ path: "wrapped", message: 'expected "kes:v1:<key>:<version>:<base64url>"' }]);
  }
  const { name, version, sealed } = parsed;
  const k = await keyFor(ctx, name, version, "decrypt", action);
  if (!k.version_exists) {
    await record(ctx, action, name, { allowed: false, reason: "unknown version", version });
    throw new DecryptFailedError(`Key "${name}" has no version ${version}.`);
  }
  if (version < k.min_decryption_version) {
    await record(ctx, action, name, { allowed: false, reason: "version retired", version });
    throw new VersionRetiredError(name, version, k.min_decryption_version);
  }
  const m = material(ctx, k, version);
  const dataKey = unwrapDataKey(m, name, version, c, sealed);
  m.fill(0);
  if (!dataKey) {
    await record(ctx, action, name, { allowed: false, reason: "context mismatch or altered", version });
    throw new DecryptFailedError(
      `The data key does not open under key "${name}" version ${version} with this encryption context: it belongs to another record, or was altered.`,
    );
  }
  return { dataKey, k, version };
}

export async function decrypt(ctx: KesContext, input: unknown): Promise<{ plaintext: Buffer; version: number }> {
  const { wrapped, context: c } = parse(schemas.decrypt, input);
  const { dataKey, k, version } = await unwrap(ctx, wrapped, c, "decrypt");
  await record(ctx, "decrypt", k.name, { allowed: true, version });
  return { plaintext: dataKey, version };
}

/** The same data key wrapped by the key's current version; its plaintext never leaves KES. */
export async function rewrap(ctx: KesContext, input: unknown): Promise<{ wrapped: string; version: number }> {
  const { wrapped, context: c } = parse(schemas.decrypt, input);
  const { dataKey, k, version } = await unwrap(ctx, wrapped, c, "rewrap");
  if (version === k.current_version) {
    dataKey.fill(0);
    return { wrapped, version };
  }
  const current = await keyFor(ctx, k.name, null, "generate", "rewrap");
  const m = material(ctx, current, current.current_version);
  const out = formatWrapped(k.name, current.current_version, wrapDataKey(m, k.name, current.current_version, c, dataKey));
  m.fill(0);
  dataKey.fill(0);
  await record(ctx, "rewrap", k.name, { allowed: true, from: version, to: current.current_version });
  return { wrapped: out, version: current.current_version };
}
