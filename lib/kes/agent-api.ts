// KES for agents over SOT's HTTP API (/api/kes/*): every call goes to KES with the agent's own token, so
// KES checks that agent's grants on the key on every call. A payload may name its allowed readers: the
// list is part of the encryption context (bound as associated data, so it cannot be edited), and only an
// agent on it, that also holds "decrypt" on the key, gets the plaintext.
import { agentOf, type AccessContext } from "../access/context";
import { ForbiddenError, ValidationError } from "../errors";
import { getKes } from "./client";
import { DecryptFailedError } from "./errors";
import type { EncryptionContext } from "./crypto";

const BLOB_PREFIX = "sotkes1.";

async function kesAs(ctx: AccessContext) {
  return (await getKes()).asAgent(agentOf(ctx).bearer, ctx.requestId);
}

function withReaders(context: EncryptionContext, readers: string[] | undefined): EncryptionContext {
  if ("readers" in context) throw new ValidationError('"readers" is reserved in a context.', [{ path: "context.readers", message: "use allowedReaders" }]);
  return readers?.length ? { ...context, readers: [...new Set(readers)].sort().join(",") } : context;
}

export async function agentEncrypt(
  ctx: AccessContext,
  input: { keyId: string; plaintext: Buffer; context?: EncryptionContext; allowedReaders?: string[] },
): Promise<{ blob: string }> {
  const context = withReaders(input.context ?? {}, input.allowedReaders);
  const kesBlob = await (await kesAs(ctx)).encrypt(input.plaintext, { keyId: input.keyId, context });
  return { blob: `${BLOB_PREFIX}${Buffer.from(JSON.stringify(context)).toString("base64url")}.${kesBlob}` };
}

function parseBlob(blob: string): { context: EncryptionContext; kesBlob: string } {
  const bad = () => new ValidationError("blob is not what /api/kes/encrypt returns.", [{ path: "blob", message: 'expected "sotkes1.<context>.<envelope>"' }]);
  if (!blob.startsWith(BLOB_PREFIX)) throw bad();
  const dot = blob.indexOf(".", BLOB_PREFIX.length);
  if (dot < 0) throw bad();
  let context: unknown;
  try {
    context = JSON.parse(Buffer.from(blob.slice(BLOB_PREFIX.length, dot), "base64url").toString("utf8"));
  } catch {
    throw bad();
  }
  if (!context || typeof context !== "object" || Array.isArray(context) || Object.values(context).some((v) => typeof v !== "string")) throw bad();
  return { context: context as EncryptionContext, kesBlob: blob.slice(dot + 1) };
}

/** `agentId`, when given, must be the calling agent (a token does not speak for another agent). */
export async function agentDecrypt(ctx: AccessContext, input: { blob: string; agentId?: string }): Promise<{ plaintext: Buffer; readers: string[] | null }> {
  const { agent } = agentOf(ctx);
  if (input.agentId && input.agentId !== agent.name) {
    throw new ForbiddenError(`This token is agent "${agent.name}"'s; it cannot decrypt as "${input.agentId}".`);
  }
  const { context, kesBlob } = parseBlob(input.blob);
  const readers = context.readers ? context.readers.split(",") : null;
  if (readers && !readers.includes(agent.name) && !readers.includes(agent.authority)) {
    throw new ForbiddenError(`Agent "${agent.name}" is not among this payload's allowed readers.`);
  }
  const plaintext = await (await kesAs(ctx)).decrypt(kesBlob, { context });
  return { plaintext, readers };
}

/** A data key for the agent to encrypt with itself (envelope encryption outside SOT). */
export async function agentDataKey(ctx: AccessContext, input: { keyId: string; context?: EncryptionContext }) {
  const dk = await (await kesAs(ctx)).generateDataKey(input.keyId, input.context ?? {});
  const out = { plaintext: dk.plaintext.toString("base64"), wrapped: dk.wrapped, version: dk.version };
  dk.plaintext.fill(0);
  return out;
}

/**
 * agentDecrypt for a blob SOT stored on a row of its own: the blob's context must carry `expected` (the
 * row it belongs to), so a blob copied onto another row is refused (422) before KES is asked.
 */
export async function agentDecryptBound(ctx: AccessContext, blob: string, expected: EncryptionContext): Promise<Buffer> {
  const { context } = parseBlob(blob);
  const wrong = Object.entries(expected).filter(([k, v]) => context[k] !== v).map(([k]) => k);
  if (wrong.length) throw new DecryptFailedError(`This sealed payload belongs to another record (context ${wrong.join(", ")} differs).`);
  return (await agentDecrypt(ctx, { blob })).plaintext;
}
