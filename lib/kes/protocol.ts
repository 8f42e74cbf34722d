// KES's one entry point: a call {op, credential, body} → {status, body}. The HTTP server (server.ts)
// and the in-process transport of the embedded default (client.ts) both go through `handleKesCall`,
// so authentication, checks, audit and errors are the same code whichever way KES is reached.
//
//   POST /v1/<op>   Authorization: Bearer <service token | agent token>   [X-KES-On-Behalf-Of: <who, for the audit>]
//
// An agent token (lib/agents/tokens.ts) is resolved with its whole delegation chain on every call, from
// the database KES shares: the caller is its authority ("agent:<root>"), narrowed to the token's cubby
// and operations. Agents may use data keys and grants, never manage keys.
//   GET  /health
import { createHash, timingSafeEqual } from "node:crypto";
import type { KeyRing } from "../crypto/keys";
import type { Db } from "../db/client";
import { ForbiddenError, isAppError, UnauthorizedError, ValidationError, NotFoundError } from "../errors";
import { agentLabel } from "../agents/principal";
import { identityFromChain, looksLikeAgentBearer, MAX_DELEGATION_DEPTH, resolveAgentBearer, tokenHashOf } from "../agents/tokens";
import { log } from "../log";
import { parseWrapped } from "./crypto";
import { decryptEscrowed, exportSealed } from "./escrow";
import { resealLegacySecret } from "./legacy";
import { agentKeyForCall } from "./queries";
import * as kes from "./service";

export interface KesInstance {
  db: Db;
  ring: KeyRing | null;
  /** sha256(token) → service name; tokens themselves are never kept. */
  services: Map<string, string>;
}

const tokenHash = (token: string) => createHash("sha256").update(token).digest();

/** Parses KES_SERVICE_TOKENS (`name:token,…`) into the lookup table; the tokens are hashed at once. */
export function serviceTable(list: string | undefined | null, extra: Array<[name: string, token: string]> = []): Map<string, string> {
  const table = new Map<string, string>();
  const entries: Array<[string, string]> = [
    ...(list ?? "")
      .split(",")
      .map((e) => e.trim())
      .filter(Boolean)
      .map((e) => {
        const i = e.indexOf(":");
        return [e.slice(0, i), e.slice(i + 1)] as [string, string];
      }),
    ...extra,
  ];
  for (const [name, token] of entries) table.set(tokenHash(token).toString("hex"), name);
  return table;
}

export interface Authenticated {
  caller: kes.CallerId;
  agent?: kes.KesAgentScope;
  /** The call's key, read in the same statement as the agent's token. */
  preloaded?: kes.PreloadedKey;
}

/** The key a data-key call is about (from its body), when it names one in a valid form. */
export function keyOfCall(op: string, body: unknown): { name: string; version: number | null } | undefined {
  const b = (body ?? {}) as Record<string, unknown>;
  if (op === "datakey.decrypt" && typeof b.wrapped === "string") {
    const p = parseWrapped(b.wrapped);
    return p ? { name: p.name, version: p.version } : undefined;
  }
  if ((op === "datakey.generate" || op === "keys.access") && typeof b.name === "string" && kes.KEY_NAME_RE.test(b.name)) return { name: b.name, version: null };
  return undefined;
}

/**
 * The caller a credential stands for, or null. An agent's token is resolved with its whole chain on
 * every call; when the call names its key (`key`), the key and the grants of the token's authority are
 * read in that same statement.
 */
export async function authenticate(
  inst: KesInstance,
  authorization: string | null | undefined,
  key?: { name: string; version: number | null },
): Promise<Authenticated | null> {
  const m = /^Bearer\s+(\S{24,})$/.exec(authorization ?? "");
  if (!m) return null;
  if (looksLikeAgentBearer(m[1]!)) {
    const hash = key ? tokenHashOf(m[1]!) : null;
    if (key && hash) {
      const r = await agentKeyForCall(inst.db.sql, hash, MAX_DELEGATION_DEPTH + 1, key.name, key.version);
      const a = identityFromChain(r.chain);
      if (!a) return null;
      return { caller: `agent:${a.authority}`, agent: { label: agentLabel(a), cubby: a.cubby, operations: a.operations }, preloaded: { ...key, row: r.key } };
    }
    const a = await resolveAgentBearer(inst.db.sql, m[1]!);
    if (!a || !a.tokenId) return null;
    return { caller: `agent:${a.authority}`, agent: { label: agentLabel(a), cubby: a.cubby, operations: a.operations } };
  }
  const h = tokenHash(m[1]!);
  for (const [hex, name] of inst.services) {
    if (timingSafeEqual(Buffer.from(hex, "hex"), h)) return { caller: `service:${name}` };
  }
  return null;
}

export interface KesCall {
  op: string;
  authorization: string | null;
  onBehalfOf?: string | null;
  requestId?: string;
  body: unknown;
}

export interface KesReply {
  status: number;
  body: unknown;
}

const b64 = (b: Buffer) => b.toString("base64");

const OPS: Record<string, (ctx: kes.KesContext, body: unknown) => Promise<unknown>> = {
  "keys.create": kes.createKey,
  "keys.get": kes.getKey,
  "keys.list": kes.listKeys,
  "keys.access": kes.access,
  "keys.add-version": kes.addVersion,
  "keys.promote": kes.promoteVersion,
  "keys.set-min-decryption-version": kes.setMinDecryptionVersion,
  "keys.disable": (ctx, b) => kes.setKeyEnabled(ctx, b, false),
  "keys.enable": (ctx, b) => kes.setKeyEnabled(ctx, b, true),
  "keys.shred": kes.shredKey,
  "grants.create": kes.grant,
  "grants.revoke": kes.revoke,
  "grants.list": kes.listGrants,
  "datakey.generate": async (ctx, b) => {
    const d = await kes.generateDataKey(ctx, b);
    const out = { plaintext: b64(d.plaintext), wrapped: d.wrapped, version: d.version };
    d.plaintext.fill(0);
    return out;
  },
  "datakey.decrypt": async (ctx, b) => {
    const d = await kes.decrypt(ctx, b);
    const out = { plaintext: b64(d.plaintext), version: d.version };
    d.plaintext.fill(0);
    return out;
  },
  "datakey.rewrap": kes.rewrap,
  "legacy.reseal-secret": resealLegacySecret,
  "keys.export-sealed": exportSealed,
  "datakey.decrypt-escrowed": async (ctx, b) => {
    const d = await decryptEscrowed(ctx, b);
    const out = { plaintext: b64(d.plaintext), version: d.version };
    d.plaintext.fill(0);
    return out;
  },
};
export const KES_OPERATIONS = Object.keys(OPS);
/** What an agent token may call: data keys and grants on keys it reaches; never key management. */
const AGENT_OPERATIONS = new Set(["keys.list", "keys.access", "grants.create", "grants.revoke", "grants.list", "datakey.generate", "datakey.decrypt"]);

function errorReply(err: unknown): KesReply {
  if (isAppError(err)) return { status: err.status, body: { error: { code: err.code, message: err.message, details: err.details } } };
  log("error", "kes call failed", { err: err instanceof Error ? err.message : String(err) });
  return { status: 500, body: { error: { code: "internal", message: "KES failed to handle the call; see its log." } } };
}

export async function handleKesCall(inst: KesInstance, call: KesCall): Promise<KesReply> {
  try {
    const fn = OPS[call.op];
    if (!fn) throw new NotFoundError(`KES operation "${call.op}" (one of ${KES_OPERATIONS.join(", ")})`);
    const who = await authenticate(inst, call.authorization, keyOfCall(call.op, call.body));
    if (!who) throw new UnauthorizedError("KES needs a valid service credential or agent token (Authorization: Bearer <token>).");
    if (who.agent && !AGENT_OPERATIONS.has(call.op)) throw new ForbiddenError(`Agents may not call ${call.op}; it is for the key's owning service.`);
    if (call.onBehalfOf && call.onBehalfOf.length > 200) {
      throw new ValidationError("X-KES-On-Behalf-Of is longer than 200 characters.", [{ path: "X-KES-On-Behalf-Of", message: "at most 200 characters" }]);
    }
    const ctx: kes.KesContext = {
      db: inst.db,
      ring: inst.ring,
      caller: who.caller,
      agent: who.agent,
      onBehalfOf: call.onBehalfOf ?? null,
      requestId: call.requestId,
      preloaded: who.preloaded,
    };
    return { status: 200, body: { result: await fn(ctx, call.body ?? {}) } };
  } catch (err) {
    return errorReply(err);
  }
}
