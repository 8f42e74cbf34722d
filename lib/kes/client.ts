// The one way SOT's own code reaches KES: over HTTP when KES_URL is set (KES is its own process, and
// this process holds no master key), or in-process on the embedded default through the very same
// handler (lib/kes/protocol.ts). Errors come back as the same typed errors either way; KES that cannot
// be reached is a KesUnavailableError (503), and nothing has been written.
import { randomBytes } from "node:crypto";
import { Agent as HttpAgent, request as httpRequest } from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";
import { getConfig } from "../config";
import { getKeyRing, KeyConfigError } from "../crypto/keys";
import { getDb } from "../db/client";
import { AppError, type ErrorDetails } from "../errors";
import { canonicalContext, openWithDataKey, parseWrapped, payloadAad, sealWithDataKey, type EncryptionContext } from "./crypto";
import { DecryptFailedError, KesUnavailableError } from "./errors";
import { handleKesCall, serviceTable, type KesInstance } from "./protocol";
import type { KeyEscrow } from "./escrow";
import type { GrantView, KesOperation, KeyView } from "./service";

/** Sends one call; the reply as KES gave it. */
export type KesTransport = (op: string, body: unknown, opts?: CallOptions) => Promise<{ status: number; body: unknown }>;

export interface CallOptions {
  onBehalfOf?: string | null;
  requestId?: string;
  /** Call with this credential instead of the process's service token: an agent's token (KES checks it). */
  bearer?: string;
}

/**
 * KES over HTTP(S) on kept-alive connections (node:http, not fetch: no per-call connection, no WHATWG
 * streams, and outside the web framework's instrumented fetch). A call that finds its kept-alive
 * connection closed by KES before KES read it is sent once more on a new one (Node's documented pattern:
 * the request never reached KES).
 */
export function httpTransport(url: string, token: string, timeoutMs = 5000): KesTransport {
  const base = url.replace(/\/+$/, "");
  const target = new URL(base);
  const https = target.protocol === "https:";
  const agent = https ? new HttpsAgent({ keepAlive: true, maxSockets: 64 }) : new HttpAgent({ keepAlive: true, maxSockets: 64 });
  const send = https ? httpsRequest : httpRequest;
  const unavailable = (why: string) => new KesUnavailableError(`The key service at ${base} ${why}; nothing was encrypted or decrypted.`);

  const once = (op: string, payload: Buffer, opts: CallOptions) =>
    new Promise<{ status: number; text: string }>((resolve, reject) => {
      const headers: Record<string, string | number> = {
        "content-type": "application/json",
        "content-length": payload.length,
        authorization: `Bearer ${opts.bearer ?? token}`,
      };
      if (opts.onBehalfOf) headers["x-kes-on-behalf-of"] = opts.onBehalfOf;
      if (opts.requestId) headers["x-request-id"] = opts.requestId;
      const req = send({ host: target.hostname, port: target.port || (https ? 443 : 80), path: `${target.pathname.replace(/\/$/, "")}/v1/${op}`, method: "POST", headers, agent }, (res) => {
        const parts: Buffer[] = [];
        res.on("data", (d: Buffer) => parts.push(d));
        res.on("end", () => {
          clearTimeout(timer);
          resolve({ status: res.statusCode ?? 0, text: Buffer.concat(parts).toString("utf8") });
        });
        res.on("error", (err) => {
          clearTimeout(timer);
          reject(err);
        });
      });
      const timer = setTimeout(() => req.destroy(Object.assign(new Error("timeout"), { code: "KES_TIMEOUT" })), timeoutMs);
      req.on("error", (err: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        reject(Object.assign(err, { reused: req.reusedSocket }));
      });
      req.end(payload);
    });

  return async (op, body, opts = {}) => {
    const payload = Buffer.from(JSON.stringify(body ?? {}));
    let reply: { status: number; text: string };
    try {
      reply = await once(op, payload, opts).catch((err: NodeJS.ErrnoException & { reused?: boolean }) => {
        if (err.reused && err.code === "ECONNRESET") return once(op, payload, opts);
        throw err;
      });
    } catch (err) {
      throw unavailable((err as NodeJS.ErrnoException).code === "KES_TIMEOUT" ? `did not answer within ${timeoutMs} ms` : "cannot be reached");
    }
    try {
      return { status: reply.status, body: JSON.parse(reply.text) };
    } catch {
      throw new KesUnavailableError(`The key service at ${base} answered ${reply.status} with a body that is not JSON.`);
    }
  };
}

/** The embedded default: the same handler, called in this process (bodies still go through JSON). */
export function inProcessTransport(inst: KesInstance, token: string): KesTransport {
  return async (op, body, opts = {}) => {
    const reply = await handleKesCall(inst, {
      op,
      authorization: `Bearer ${opts.bearer ?? token}`,
      onBehalfOf: opts.onBehalfOf ?? null,
      requestId: opts.requestId,
      body: JSON.parse(JSON.stringify(body ?? {})),
    });
    return JSON.parse(JSON.stringify(reply));
  };
}

export interface DataKey {
  plaintext: Buffer;
  wrapped: string;
  version: number;
}

// The payload is bound to the key's name and the encryption context (the data key itself is bound to
// those and the version): a rewrap changes the wrapped key, never the sealed payload.
const PAYLOAD_AAD = payloadAad;

function splitBlob(blob: string): { wrapped: string; payload: string; keyName: string } {
  const i = blob.lastIndexOf("~");
  const wrapped = i < 0 ? "" : blob.slice(0, i);
  const parsed = parseWrapped(wrapped);
  if (!parsed) throw new DecryptFailedError('Not a KES blob (expected "kes:v1:<key>:<version>:…~<payload>").');
  return { wrapped, payload: blob.slice(i + 1), keyName: parsed.name };
}

export class KesClient {
  constructor(
    private readonly send: KesTransport,
    private readonly opts: CallOptions = {},
  ) {}

  /** The same client, recording `who` as the person or agent it acts for (audit only). */
  onBehalfOf(who: string | null, requestId?: string): KesClient {
    return new KesClient(this.send, { ...this.opts, onBehalfOf: who, requestId });
  }

  /** The same KES, called with an agent's token: KES resolves it and checks that agent's grants. */
  asAgent(bearer: string, requestId?: string): KesClient {
    return new KesClient(this.send, { bearer, requestId });
  }

  async call<T>(op: string, body: unknown = {}): Promise<T> {
    const { status, body: reply } = await this.send(op, body, this.opts);
    if (status === 200) return (reply as { result: T }).result;
    const e = (reply as { error?: { code?: string; message?: string; details?: ErrorDetails } }).error ?? {};
    throw new AppError(status, e.code ?? "kes_error", e.message ?? `KES answered ${status}.`, e.details);
  }

  createKey(name: string, opts: { readers?: string[] } = {}) {
    return this.call<KeyView>("keys.create", { name, readers: opts.readers ?? [] });
  }
  getKey(name: string) {
    return this.call<KeyView>("keys.get", { name });
  }
  listKeys(opts: { prefix?: string } = {}) {
    return this.call<KeyView[]>("keys.list", { prefix: opts.prefix ?? null });
  }
  /** What the caller may do with the key now; 404 when nothing. */
  access(name: string) {
    return this.call<{ name: string; operations: KesOperation[]; status: KeyView["status"] }>("keys.access", { name });
  }
  addVersion(name: string) {
    return this.call<KeyView>("keys.add-version", { name });
  }
  promote(name: string, version: number) {
    return this.call<KeyView>("keys.promote", { name, version });
  }
  setMinDecryptionVersion(name: string, version: number) {
    return this.call<KeyView>("keys.set-min-decryption-version", { name, version });
  }
  disable(name: string) {
    return this.call<KeyView>("keys.disable", { name });
  }
  enable(name: string) {
    return this.call<KeyView>("keys.enable", { name });
  }
  shred(name: string) {
    return this.call<KeyView>("keys.shred", { name });
  }
  grant(name: string, grantee: string, g: { operations: KesOperation[]; expiresAt?: Date | null }) {
    return this.call<GrantView>("grants.create", { name, grantee, operations: g.operations, expiresAt: g.expiresAt?.toISOString() ?? null });
  }
  revoke(name: string, grantee: string) {
    return this.call<{ revoked: number }>("grants.revoke", { name, grantee });
  }
  listGrants(name: string) {
    return this.call<GrantView[]>("grants.list", { name });
  }

  async generateDataKey(name: string, context: EncryptionContext): Promise<DataKey> {
    const r = await this.call<{ plaintext: string; wrapped: string; version: number }>("datakey.generate", { name, context });
    return { plaintext: Buffer.from(r.plaintext, "base64"), wrapped: r.wrapped, version: r.version };
  }
  async decryptDataKey(wrapped: string, context: EncryptionContext): Promise<Buffer> {
    const r = await this.call<{ plaintext: string }>("datakey.decrypt", { wrapped, context });
    return Buffer.from(r.plaintext, "base64");
  }
  rewrap(wrapped: string, context: EncryptionContext) {
    return this.call<{ wrapped: string; version: number }>("datakey.rewrap", { wrapped, context });
  }
  /** The key's versions as the master keys sealed them (owner only): kept beside backups, see lib/kes/escrow.ts. */
  exportSealed(name: string) {
    return this.call<KeyEscrow>("keys.export-sealed", { name });
  }
  /** Like decryptDataKey; while KES's database does not know the key, opened with its escrow. */
  async decryptDataKeyEscrowed(wrapped: string, context: EncryptionContext, escrow: KeyEscrow): Promise<Buffer> {
    const r = await this.call<{ plaintext: string }>("datakey.decrypt-escrowed", { wrapped, context, escrow });
    return Buffer.from(r.plaintext, "base64");
  }
  /** A legacy `sot:v1:` secret re-sealed by KES under key `name` and `context`; the plaintext stays in KES. */
  resealLegacySecret(envelope: string, name: string, context: EncryptionContext) {
    return this.call<{ blob: string; version: number }>("legacy.reseal-secret", { envelope, name, context });
  }

  /**
   * Envelope encryption of a payload: a fresh data key from KES, the payload sealed here with it (bound
   * to the wrapped key, which is itself bound to `context`). The blob is "<wrapped>~<base64url>".
   */
  async encrypt(plaintext: Buffer, opts: { keyId: string; context?: EncryptionContext }): Promise<string> {
    const dk = await this.generateDataKey(opts.keyId, opts.context ?? {});
    try {
      return `${dk.wrapped}~${sealWithDataKey(dk.plaintext, plaintext, PAYLOAD_AAD(opts.keyId, opts.context ?? {})).toString("base64url")}`;
    } finally {
      dk.plaintext.fill(0);
    }
  }

  async decrypt(blob: string, opts: { context?: EncryptionContext } = {}): Promise<Buffer> {
    const { wrapped, payload, keyName } = splitBlob(blob);
    const dataKey = await this.decryptDataKey(wrapped, opts.context ?? {});
    try {
      const out = openWithDataKey(dataKey, Buffer.from(payload, "base64url"), PAYLOAD_AAD(keyName, opts.context ?? {}));
      if (!out) throw new DecryptFailedError(`The payload does not open with its data key (context ${canonicalContext(opts.context ?? {})}): altered.`);
      return out;
    } finally {
      dataKey.fill(0);
    }
  }
}

/** The blob with its data key rewrapped by the key's current version (the payload is untouched). */
export async function rewrapBlob(kes: KesClient, blob: string, context: EncryptionContext): Promise<{ blob: string; version: number }> {
  const { wrapped, payload } = splitBlob(blob);
  const r = await kes.rewrap(wrapped, context);
  return { blob: `${r.wrapped}~${payload}`, version: r.version };
}

/** SOT's own service name when KES runs inside this process. */
export const EMBEDDED_SERVICE = "sot";

const KEY = Symbol.for("sot.kes");
type Holder = typeof globalThis & { [KEY]?: Promise<KesClient> };

/** The process's KES client: remote when KES_URL is set, else KES inside this process. */
export function getKes(): Promise<KesClient> {
  const g = globalThis as Holder;
  if (!g[KEY]) {
    const config = getConfig();
    g[KEY] = (async () => {
      if (config.KES_URL) return new KesClient(httpTransport(config.KES_URL, config.KES_TOKEN!, config.KES_TIMEOUT_MS));
      // A credential that exists only in this process's memory: the embedded KES knows SOT by it.
      const token = randomBytes(32).toString("base64url");
      // No master key configured: KES still answers what needs none (grants, listings) and refuses the
      // rest with 503 naming what is missing, as the KES process does.
      const ring = await getKeyRing().catch((err: unknown) => {
        if (err instanceof KeyConfigError) return null;
        throw err;
      });
      const inst: KesInstance = { db: await getDb(), ring, services: serviceTable(null, [[EMBEDDED_SERVICE, token]]) };
      return new KesClient(inProcessTransport(inst, token));
    })().catch((err) => {
      delete g[KEY];
      throw err;
    });
  }
  return g[KEY]!;
}

export function resetKes(): void {
  delete (globalThis as Holder)[KEY];
}
