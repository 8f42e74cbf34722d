// Cubbies: named, encrypted key-value spaces that agents share by grant. Each cubby has its own KES key
// ("cubby.<name>", owned by SOT's service credential); who may read, write and grant is that key's KES
// grants (read = decrypt, write = generate, grant = grant), so KES checks them on every call, with the
// calling agent's own token. Values are JSON, sealed here with a data key from KES and bound to
// {cubby id, item key, version}; the database holds only the envelope.
//
// Agents call these with their access context (lib/access/context.ts agentOf); admins manage cubbies
// (lib/cubbies/admin.ts) and never see a value.
import { agentOf, type AccessContext } from "../access/context";
import { NAME_RE, NAME_RULE } from "../agents/service";
import { agentNamesExisting } from "../agents/queries";
import { CUBBY_OPERATIONS, type CubbyOperation } from "../agents/types";
import { auditAs } from "../audit";
import { ConflictError, ForbiddenError, NotFoundError, PayloadTooLargeError, ValidationError } from "../errors";
import { getKes, type KesClient } from "../kes/client";
import { parseWrapped } from "../kes/crypto";
import { CUBBY_TO_KES, cubbyKeyName, type GrantView, type KesOperation, type KeyView } from "../kes/service";
import * as q from "./queries";
import {
  CUBBY_MAX_VALUE_BYTES,
  ITEM_KEY_RE,
  ITEM_KEY_RULE,
  type CubbyGrantView,
  type CubbyItemMeta,
  type CubbyItemView,
  type CubbyView,
  type JsonValue,
} from "./types";

export { CUBBY_MAX_VALUE_BYTES } from "./types";

/** The KES client as the calling agent: KES resolves its token and checks its grants itself. */
async function kesAs(ctx: AccessContext): Promise<KesClient> {
  const { bearer } = agentOf(ctx);
  return (await getKes()).asAgent(bearer, ctx.requestId);
}

/** SOT's own KES client (owner of every cubby key), recording who it acts for. */
export async function kesService(ctx: AccessContext): Promise<KesClient> {
  return (await getKes()).onBehalfOf(ctx.principal.label, ctx.requestId);
}

export function checkName(name: string): void {
  if (!NAME_RE.test(name)) throw new ValidationError(`Cubby name "${name}" is not valid.`, [{ path: "name", message: NAME_RULE }]);
}
function checkItemKey(key: string): void {
  if (!ITEM_KEY_RE.test(key)) throw new ValidationError(`Item key "${key.slice(0, 50)}" is not valid.`, [{ path: "key", message: ITEM_KEY_RULE }]);
}

export const itemContext = (cubbyId: string, key: string, version: number) => ({ cubby: cubbyId, item: key, version: String(version) });
const keyVersionOf = (ciphertext: string) => parseWrapped(ciphertext.slice(0, ciphertext.lastIndexOf("~")))?.version ?? 0;
export const toCubbyOps = (ops: readonly string[]): CubbyOperation[] =>
  CUBBY_OPERATIONS.filter((o) => ops.includes(CUBBY_TO_KES[o]));
const toKesOps = (ops: readonly CubbyOperation[]): KesOperation[] => [...new Set(ops.map((o) => CUBBY_TO_KES[o]))];

export function grantView(g: GrantView): CubbyGrantView {
  return {
    id: g.id,
    agent: g.grantee.replace(/^agent:/, ""),
    operations: toCubbyOps(g.operations),
    expiresAt: g.expiresAt,
    createdBy: g.createdBy,
    createdAt: g.createdAt,
    revokedAt: g.revokedAt,
    active: g.active,
  };
}

export function cubbyView(row: q.CubbyRow, key: Pick<KeyView, "status" | "currentVersion" | "minDecryptionVersion" | "versions">, operations: CubbyOperation[]): CubbyView {
  return {
    name: row.name,
    createdBy: row.created_by,
    createdAt: row.created_at.toISOString(),
    items: row.items,
    bytes: row.bytes,
    key: { status: key.status, currentVersion: key.currentVersion, minDecryptionVersion: key.minDecryptionVersion, versions: key.versions },
    operations,
  };
}

function meta(i: q.ItemRow): CubbyItemMeta {
  return { key: i.key, version: i.version, size: i.size, keyVersion: keyVersionOf(i.ciphertext), updatedBy: i.updated_by, updatedAt: i.updated_at.toISOString() };
}

/** Agents named in a grant or an allowed list must exist and be enabled: 404 naming the unknown ones. */
async function requireAgents(ctx: AccessContext, names: string[]): Promise<void> {
  if (names.length === 0) return;
  const found = await agentNamesExisting(ctx.db.sql, names);
  const missing = names.filter((n) => !found.some((f) => f.name === n && !f.disabled));
  if (missing.length) throw new NotFoundError(`Agent${missing.length > 1 ? "s" : ""} ${missing.map((n) => `"${n}"`).join(", ")} (unknown agent)`);
}

// ── cubbies ──

export interface CreateCubbyInput {
  name: string;
  /** Agents that may read and write it (the creating agent may also grant). */
  allowedAgents?: string[];
}

/**
 * A new cubby. Its key is made in KES first: when KES cannot be reached (503), nothing is written.
 * The creating agent's authority gets read, write and grant; each allowed agent read and write.
 */
export async function createCubby(ctx: AccessContext, input: CreateCubbyInput): Promise<CubbyView> {
  const { agent } = agentOf(ctx);
  checkName(input.name);
  if (agent.cubby) throw new ForbiddenError(`This token is for cubby "${agent.cubby}" only: it cannot create cubbies.`);
  if (!agent.operations.includes("write")) throw new ForbiddenError('Creating a cubby needs a token that carries "write".');
  const allowed = [...new Set((input.allowedAgents ?? []).filter((a) => a !== agent.authority))];
  for (const a of allowed) if (!NAME_RE.test(a)) throw new ValidationError(`Agent name "${a}" is not valid.`, [{ path: "allowedAgents", message: NAME_RULE }]);
  await requireAgents(ctx, allowed);
  if (await q.cubbyId(ctx.db.sql, input.name)) throw new ConflictError(`A cubby named "${input.name}" already exists.`);
  const kes = await kesService(ctx);
  const keyName = cubbyKeyName(input.name);
  const key = await kes.createKey(keyName);
  await kes.grant(keyName, `agent:${agent.authority}`, { operations: ["generate", "decrypt", "grant"] });
  for (const a of allowed) await kes.grant(keyName, `agent:${a}`, { operations: ["generate", "decrypt"] });
  const id = await q.insertCubby(ctx.db.sql, input.name, `agent:${agent.authority}`);
  if (!id) throw new ConflictError(`A cubby named "${input.name}" already exists.`);
  await auditAs(ctx, "cubby.create", `cubby:${input.name}`, { allowedAgents: allowed });
  const row = (await q.cubbyByName(ctx.db.sql, input.name))!;
  return cubbyView(row, key, [...CUBBY_OPERATIONS]);
}

/** The cubbies the calling agent reaches now (by its live grants, narrowed by its token). */
export async function listCubbies(ctx: AccessContext): Promise<CubbyView[]> {
  const kes = await kesAs(ctx);
  const keys = await kes.listKeys({ prefix: "cubby." });
  const byName = new Map(keys.map((k) => [k.name.slice("cubby.".length), k]));
  const rows = await q.cubbiesByName(ctx.db.sql, [...byName.keys()]);
  return rows.map((r) => cubbyView(r, byName.get(r.name)!, []));
}

/** One cubby's facts and what the caller may do with it (404 when it may do nothing). */
export async function getCubby(ctx: AccessContext, name: string): Promise<CubbyView> {
  checkName(name);
  const kes = await kesAs(ctx);
  const acc = await kes.access(cubbyKeyName(name));
  const row = await q.cubbyByName(ctx.db.sql, name);
  if (!row) throw new NotFoundError(`Cubby "${name}"`);
  const key = await (await kesService(ctx)).getKey(cubbyKeyName(name));
  return cubbyView(row, key, toCubbyOps(acc.operations));
}

/** Refuses (403) unless the caller may `op` on the cubby now; 404 when it may do nothing at all. */
async function requireOp(kes: KesClient, name: string, op: CubbyOperation): Promise<void> {
  const acc = await kes.access(cubbyKeyName(name));
  if (!acc.operations.includes(CUBBY_TO_KES[op])) throw new ForbiddenError(`You may not ${op} cubby "${name}".`);
}

// ── values ──

export async function setItem(
  ctx: AccessContext,
  input: { cubby: string; key: string; value: JsonValue; ifVersion?: number },
): Promise<CubbyItemMeta> {
  const { agent } = agentOf(ctx);
  checkName(input.cubby);
  checkItemKey(input.key);
  if (input.value === undefined) throw new ValidationError("value is missing.", [{ path: "value", message: "required (any JSON value)" }]);
  const json = Buffer.from(JSON.stringify(input.value));
  if (json.length > CUBBY_MAX_VALUE_BYTES) throw new PayloadTooLargeError(CUBBY_MAX_VALUE_BYTES, `The value for "${input.key}" (${json.length} bytes of JSON)`);
  const found = await q.itemOf(ctx.db.sql, input.cubby, input.key);
  const kes = await kesAs(ctx);
  if (!found) {
    await requireOp(kes, input.cubby, "write"); // unknown to KES → 404; known but not writable → 403
    throw new NotFoundError(`Cubby "${input.cubby}"`);
  }
  const previous = found.item?.version ?? 0;
  if (input.ifVersion !== undefined && input.ifVersion !== previous) {
    await requireOp(kes, input.cubby, "write");
    throw new ConflictError(`"${input.key}" is at version ${previous}, not ${input.ifVersion}: read it again and retry.`, [
      { path: "ifVersion", message: `the current version is ${previous}` },
    ]);
  }
  const version = previous + 1;
  // KES first (it checks "write"): if it refuses or cannot be reached, nothing has been written.
  const ciphertext = await kes.encrypt(json, { keyId: cubbyKeyName(input.cubby), context: itemContext(found.cubby_id, input.key, version) });
  const row = await q.writeItem(ctx.db.sql, {
    cubbyId: found.cubby_id,
    key: input.key,
    previous,
    version,
    ciphertext,
    size: json.length,
    updatedBy: `agent:${agent.name}`,
  });
  if (!row) throw new ConflictError(`"${input.key}" changed while it was being written: read it again and retry.`, [{ path: "ifVersion", message: "stale" }]);
  return meta({ ...row, ciphertext });
}

/** The value, decrypted for an agent that may read it now; 404 when the key is not set. */
export async function getItem(ctx: AccessContext, input: { cubby: string; key: string }): Promise<CubbyItemView> {
  checkName(input.cubby);
  checkItemKey(input.key);
  const found = await q.itemOf(ctx.db.sql, input.cubby, input.key);
  const kes = await kesAs(ctx);
  if (!found?.item) {
    await requireOp(kes, input.cubby, "read");
    throw new NotFoundError(found ? `Key "${input.key}" in cubby "${input.cubby}"` : `Cubby "${input.cubby}"`);
  }
  const { item } = found;
  const plain = await kes.decrypt(item.ciphertext, { context: itemContext(found.cubby_id, item.key, item.version) });
  return { ...meta(item), value: JSON.parse(plain.toString("utf8")) as JsonValue };
}

export async function deleteItem(ctx: AccessContext, input: { cubby: string; key: string; ifVersion?: number }): Promise<{ deleted: boolean }> {
  checkName(input.cubby);
  checkItemKey(input.key);
  const kes = await kesAs(ctx);
  await requireOp(kes, input.cubby, "write");
  const id = await q.cubbyId(ctx.db.sql, input.cubby);
  if (!id) throw new NotFoundError(`Cubby "${input.cubby}"`);
  const n = await q.deleteItem(ctx.db.sql, id, input.key, input.ifVersion ?? null);
  if (n === 0 && input.ifVersion !== undefined) {
    throw new ConflictError(`"${input.key}" is not at version ${input.ifVersion}.`, [{ path: "ifVersion", message: "stale or missing" }]);
  }
  return { deleted: n > 0 };
}

/** The keys of a cubby with their versions and sizes (no values). */
export async function listItems(ctx: AccessContext, cubby: string): Promise<CubbyItemMeta[]> {
  checkName(cubby);
  const kes = await kesAs(ctx);
  await requireOp(kes, cubby, "read");
  const id = await q.cubbyId(ctx.db.sql, cubby);
  if (!id) throw new NotFoundError(`Cubby "${cubby}"`);
  return (await q.listItems(ctx.db.sql, id)).map(meta);
}

// ── grants (KES grants on the cubby's key, made with the caller's own token) ──

export interface GrantInput {
  cubby: string;
  agent: string;
  operations: CubbyOperation[];
  /** ISO time or milliseconds since the epoch; none: until revoked (or the granter's own grant ends). */
  expiresAt?: string | number | null;
}

export async function grantAccess(ctx: AccessContext, input: GrantInput): Promise<CubbyGrantView> {
  checkName(input.cubby);
  await requireAgents(ctx, [input.agent]);
  const kes = await kesAs(ctx);
  const expiresAt = input.expiresAt == null ? null : new Date(input.expiresAt);
  if (expiresAt && Number.isNaN(expiresAt.getTime())) throw new ValidationError("expiresAt is not a time.", [{ path: "expiresAt", message: "an ISO time or milliseconds since 1970" }]);
  const g = await kes.grant(cubbyKeyName(input.cubby), `agent:${input.agent}`, { operations: toKesOps(input.operations), expiresAt });
  return grantView(g);
}

/** Revokes the agent's grants on the cubby; its very next call is refused (KES reads grants on every call). */
export async function revokeAccess(ctx: AccessContext, input: { cubby: string; agent: string }): Promise<{ revoked: number }> {
  checkName(input.cubby);
  if (!NAME_RE.test(input.agent)) throw new ValidationError(`Agent name "${input.agent}" is not valid.`, [{ path: "agent", message: NAME_RULE }]);
  const kes = await kesAs(ctx);
  return kes.revoke(cubbyKeyName(input.cubby), `agent:${input.agent}`);
}

export async function listGrants(ctx: AccessContext, cubby: string): Promise<CubbyGrantView[]> {
  checkName(cubby);
  const kes = await kesAs(ctx);
  return (await kes.listGrants(cubbyKeyName(cubby))).map(grantView);
}

