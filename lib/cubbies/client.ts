// The typed client for agents, usable from outside SOT over HTTP (it imports nothing of the server):
//
//   const sot = createSotClient({ baseUrl: "https://sot.lan", credential: process.env.SOT_AGENT_CREDENTIAL });
//   const cubby = await sot.createCubby({ name: "wiki-agent-state", allowedAgents: ["agent-123", "agent-456"] });
//   await cubby.set("lastSync", { timestamp: Date.now(), pageCount: 42 });
//   const state = await cubby.get("lastSync");
//   await cubby.grantAccess("agent-789", { operations: ["read"], expiresAt: Date.now() + 86_400_000 });
//   await cubby.revokeAccess("agent-789");
//   const blob = await sot.kes.encrypt(chunk, { keyId: "wiki-knowledge-key", allowedReaders: ["sot-query-agent", "sot-eval-agent"] });
//   const plain = await sot.kes.decrypt(blob, { agentId: "sot-query-agent" });
//
// With a credential it buys short-lived tokens itself and renews them a minute before they end; with a
// token it uses that one. Errors are ApiError (status, code, message, the fields named, request id).
import type { AgentTokenView, CubbyOperation } from "../agents/types";
import { ApiError, apiErrorFrom } from "../http/client-fetch";
import type { CubbyGrantView, CubbyItemMeta, CubbyItemView, CubbyView, JsonValue } from "./types";

export { ApiError } from "../http/client-fetch";
export type { CubbyGrantView, CubbyItemMeta, CubbyItemView, CubbyView, JsonValue } from "./types";

export interface SotClientOptions {
  baseUrl: string;
  /** The agent's credential (sot_agent_…): tokens are bought and renewed with it. */
  credential?: string;
  /** Or a token (sot_at_…), e.g. one delegated to this agent. */
  token?: string;
  /** Lifetime of the tokens bought with the credential (seconds). */
  tokenTtlSeconds?: number;
  fetch?: typeof fetch;
}

const RENEW_BEFORE_MS = 60_000;

class Transport {
  private token: string | null;
  private expiresAt = Infinity;
  private buying: Promise<string> | null = null;
  readonly fetch: typeof fetch;
  readonly base: string;

  constructor(private readonly opts: SotClientOptions) {
    if (!opts.credential && !opts.token) throw new Error("createSotClient needs a credential or a token.");
    this.token = opts.token ?? null;
    this.fetch = opts.fetch ?? fetch;
    this.base = opts.baseUrl.replace(/\/+$/, "");
  }

  private async bearer(): Promise<string> {
    if (this.token && (!this.opts.credential || Date.now() < this.expiresAt - RENEW_BEFORE_MS)) return this.token;
    this.buying ??= (async () => {
      const r = await this.raw<AgentTokenView & { token: string }>("POST", "/api/agents/tokens", this.opts.credential!, {
        ttlSeconds: this.opts.tokenTtlSeconds ?? 900,
      });
      this.token = r.token;
      this.expiresAt = Date.parse(r.expiresAt);
      return r.token;
    })().finally(() => (this.buying = null));
    return this.buying;
  }

  private async raw<T>(method: string, path: string, bearer: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = { authorization: `Bearer ${bearer}`, ...(body !== undefined ? { "content-type": "application/json" } : {}) };
    const payload = body !== undefined ? JSON.stringify(body) : undefined;
    const node = this.opts.fetch ? null : await nodeRequester(this.base);
    if (node) {
      const r = await node(method, this.base + path, headers, payload);
      if (r.status < 200 || r.status > 299) throw await apiErrorFrom(new Response(r.text, { status: r.status, headers: { "content-type": "application/json" } }));
      return JSON.parse(r.text) as T;
    }
    const res = await this.fetch(this.base + path, { method, headers, body: payload, cache: "no-store" });
    if (!res.ok) throw await apiErrorFrom(res);
    return (await res.json()) as T;
  }

  async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    return this.raw<T>(method, path, await this.bearer(), body);
  }
}

type NodeRequester = (method: string, url: string, headers: Record<string, string>, body?: string) => Promise<{ status: number; text: string }>;

/**
 * On Node, calls go through node:http(s) on kept-alive connections: `fetch` (undici, its WHATWG streams
 * and objects) costs the calling agent several times the CPU of a plain request for these small JSON
 * calls. Elsewhere (a browser, a runtime without node:http), or when a `fetch` is given, `fetch` is used.
 * Loaded on first use, so this module still imports nothing at its top.
 */
const requesters = new Map<string, Promise<NodeRequester | null>>();
function nodeRequester(base: string): Promise<NodeRequester | null> {
  const https = base.startsWith("https:");
  const key = https ? "https" : "http";
  let r = requesters.get(key);
  if (!r) {
    const isNode = typeof process !== "undefined" && typeof process.versions?.node === "string";
    r = !isNode
      ? Promise.resolve(null)
      : (https ? import("node:https") : import("node:http"))
          .then((mod): NodeRequester => {
            const agent = new mod.Agent({ keepAlive: true });
            const once: NodeRequester = (method, url, headers, body) =>
              new Promise((resolve, reject) => {
                const req = mod.request(url, { method, headers: body !== undefined ? { ...headers, "content-length": String(Buffer.byteLength(body)) } : headers, agent }, (res) => {
                  const parts: Buffer[] = [];
                  res.on("data", (d: Buffer) => parts.push(d));
                  res.on("end", () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(parts).toString("utf8") }));
                  res.on("error", reject);
                });
                req.on("error", (err: NodeJS.ErrnoException) => reject(Object.assign(err, { reused: req.reusedSocket })));
                req.end(body);
              });
            // A kept-alive connection the server closed before it read the request: sent once more on a
            // new one (Node's documented pattern; the request never reached the server).
            return (method, url, headers, body) =>
              once(method, url, headers, body).catch((err: NodeJS.ErrnoException & { reused?: boolean }) => {
                if (err.reused && err.code === "ECONNRESET") return once(method, url, headers, body);
                throw err;
              });
          })
          .catch(() => null);
    requesters.set(key, r);
  }
  return r;
}

const seg = encodeURIComponent;

export class CubbyClient {
  constructor(
    private readonly t: Transport,
    readonly name: string,
  ) {}

  private path(rest = "") {
    return `/api/cubbies/${seg(this.name)}${rest}`;
  }

  /** Stores `value` (JSON); with `ifVersion`, only if the key is still at that version (0: not set yet), else 409. */
  set(key: string, value: JsonValue | object, opts: { ifVersion?: number } = {}): Promise<CubbyItemMeta> {
    return this.t.call("PUT", this.path(`/items/${seg(key)}`), { value, ...opts });
  }
  /** The value, or undefined when the key is not set. */
  async get<T = JsonValue>(key: string): Promise<T | undefined> {
    return (await this.entry<T>(key))?.value;
  }
  /** The value with its version (for `set(…, { ifVersion })`), or undefined when the key is not set. */
  async entry<T = JsonValue>(key: string): Promise<CubbyItemView<T> | undefined> {
    try {
      return await this.t.call<CubbyItemView<T>>("GET", this.path(`/items/${seg(key)}`));
    } catch (err) {
      if (err instanceof ApiError && err.status === 404 && /^Key /.test(err.message)) return undefined;
      throw err;
    }
  }
  delete(key: string, opts: { ifVersion?: number } = {}): Promise<{ deleted: boolean }> {
    return this.t.call("DELETE", this.path(`/items/${seg(key)}${opts.ifVersion ? `?ifVersion=${opts.ifVersion}` : ""}`));
  }
  async list(): Promise<CubbyItemMeta[]> {
    return (await this.t.call<{ items: CubbyItemMeta[] }>("GET", this.path("/items"))).items;
  }
  info(): Promise<CubbyView> {
    return this.t.call("GET", this.path());
  }
  grantAccess(agent: string, grant: { operations: CubbyOperation[]; expiresAt?: number | Date | string | null }): Promise<CubbyGrantView> {
    const expiresAt = grant.expiresAt instanceof Date ? grant.expiresAt.toISOString() : (grant.expiresAt ?? null);
    return this.t.call("POST", this.path("/grants"), { agent, operations: grant.operations, expiresAt });
  }
  revokeAccess(agent: string): Promise<{ revoked: number }> {
    return this.t.call("DELETE", this.path(`/grants/${seg(agent)}`));
  }
  async listGrants(): Promise<CubbyGrantView[]> {
    return (await this.t.call<{ grants: CubbyGrantView[] }>("GET", this.path("/grants"))).grants;
  }
}

export class KesAgentClient {
  constructor(private readonly t: Transport) {}

  /** Envelope-encrypts under `keyId`; only `allowedReaders` (holding "decrypt" on the key) may decrypt. */
  async encrypt(
    plaintext: string | Uint8Array,
    opts: { keyId: string; allowedReaders?: string[]; context?: Record<string, string> },
  ): Promise<string> {
    const bytes = typeof plaintext === "string" ? new TextEncoder().encode(plaintext) : plaintext;
    const r = await this.t.call<{ blob: string }>("POST", "/api/kes/encrypt", { ...opts, plaintext: toBase64(bytes) });
    return r.blob;
  }
  /** The plaintext bytes; `agentId` must be the calling agent. */
  async decrypt(blob: string, opts: { agentId?: string } = {}): Promise<Uint8Array> {
    const r = await this.t.call<{ plaintext: string }>("POST", "/api/kes/decrypt", { blob, ...opts });
    return fromBase64(r.plaintext);
  }
  async generateDataKey(keyId: string, context: Record<string, string> = {}): Promise<{ plaintext: Uint8Array; wrapped: string; version: number }> {
    const r = await this.t.call<{ plaintext: string; wrapped: string; version: number }>("POST", "/api/kes/data-key", { keyId, context });
    return { ...r, plaintext: fromBase64(r.plaintext) };
  }
}

function toBase64(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s);
}
function fromBase64(b64: string): Uint8Array {
  const s = atob(b64);
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

export class SotClient {
  private readonly t: Transport;
  readonly kes: KesAgentClient;

  constructor(opts: SotClientOptions) {
    this.t = new Transport(opts);
    this.kes = new KesAgentClient(this.t);
  }

  async createCubby(input: { name: string; allowedAgents?: string[] }): Promise<CubbyClient> {
    await this.t.call<CubbyView>("POST", "/api/cubbies", { name: input.name, allowedAgents: input.allowedAgents ?? [] });
    return new CubbyClient(this.t, input.name);
  }
  /** An existing cubby (nothing is fetched until a call). */
  cubby(name: string): CubbyClient {
    return new CubbyClient(this.t, name);
  }
  async listCubbies(): Promise<CubbyView[]> {
    return (await this.t.call<{ cubbies: CubbyView[] }>("GET", "/api/cubbies")).cubbies;
  }
  /**
   * A token for `agent` (or this agent) delegated from this client's token: narrowed to `cubby` and
   * `operations`, ending no later than this one.
   */
  async delegate(input: { agent?: string; cubby?: string; operations?: CubbyOperation[]; ttlSeconds?: number; expiresAt?: string }): Promise<AgentTokenView & { token: string }> {
    return this.t.call("POST", "/api/agents/tokens", input);
  }
}

export function createSotClient(opts: SotClientOptions): SotClient {
  return new SotClient(opts);
}
