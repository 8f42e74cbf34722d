// SSRF guard: the app makes no request to an address someone typed (a webhook URL, an S3 endpoint
// entered in a form) unless the administrator allowed it. It is the one way such requests go out:
// `outboundFetch` for plain HTTP, `outboundAgents` for clients that bring their own HTTP stack (the AWS
// SDK of S3 sources). Settings:
//   OUTBOUND_ALLOW         comma list of host names ("minio.lan", "*.example.com"), IPs or CIDRs ("10.0.5.0/24")
//   OUTBOUND_ALLOW_PUBLIC  true: any public Internet address is also allowed (never private/loopback/link-local)
// Addresses from the server's own settings (OLLAMA_HOST, BACKUP_S3_ENDPOINT, EVAL_ALERT_WEBHOOK_URL) are
// admin-configured and need no check.
//
// When such a request fails, `describeOutboundFailure` says so in the app's own words (not allowed /
// no answer in time / could not connect): never the far side's error text or the socket's errno, so
// the messages cannot be used to map which ports answer on a network.
//
// The check runs on every address a name resolves to, and `outboundFetch` / `outboundAgentOptions` check
// again at connect time (the socket connects only to an address that passed), so DNS rebinding cannot
// swap a checked public address for an internal one between check and request.
import { lookup as dnsLookup, type LookupAddress } from "node:dns";
import http from "node:http";
import https from "node:https";
import { BlockList, isIP } from "node:net";
import { Readable } from "node:stream";
import { AppError } from "../errors";

export class OutboundBlockedError extends AppError {
  constructor(url: string, reason: string, field = "url") {
    super(
      400,
      "outbound_not_allowed",
      `${field} ${redactUrl(url)} is not an allowed target: ${reason}. An administrator can allow it with OUTBOUND_ALLOW.`,
      [{ path: field, message: reason }],
    );
  }
}

export interface OutboundPolicy {
  /** Host names ("a.lan", "*.example.com"), IP addresses and CIDRs. */
  allow: string[];
  /** Allow public Internet addresses too. */
  allowPublic: boolean;
}

/** Not the public Internet: private, loopback, link-local (cloud metadata), CGNAT, multicast, reserved. */
const NON_PUBLIC = new BlockList();
for (const [net, bits] of [
  ["0.0.0.0", 8], ["10.0.0.0", 8], ["100.64.0.0", 10], ["127.0.0.0", 8], ["169.254.0.0", 16], ["172.16.0.0", 12],
  ["192.0.0.0", 24], ["192.0.2.0", 24], ["192.168.0.0", 16], ["198.18.0.0", 15], ["198.51.100.0", 24],
  ["203.0.113.0", 24], ["224.0.0.0", 4], ["240.0.0.0", 4],
] as const) NON_PUBLIC.addSubnet(net, bits, "ipv4");
for (const [net, bits] of [
  ["::", 128], ["::1", 128], ["fc00::", 7], ["fe80::", 10], ["ff00::", 8], ["64:ff9b::", 96], ["2001:db8::", 32], ["100::", 64],
] as const) NON_PUBLIC.addSubnet(net, bits, "ipv6");

function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    u.username = "";
    u.password = "";
    u.search = "";
    return u.toString();
  } catch {
    return JSON.stringify(url.slice(0, 200));
  }
}

/** An IPv4-mapped IPv6 address (::ffff:10.0.0.1) is checked as the IPv4 address it is. */
function normaliseIp(ip: string): { ip: string; family: "ipv4" | "ipv6" } {
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  if (m) return { ip: m[1]!, family: "ipv4" };
  return { ip, family: isIP(ip) === 6 ? "ipv6" : "ipv4" };
}

export function isPublicAddress(ip: string): boolean {
  const n = normaliseIp(ip);
  return !NON_PUBLIC.check(n.ip, n.family);
}

function hostAllowedByName(host: string, allow: string[]): boolean {
  const h = host.toLowerCase().replace(/\.$/, "");
  return allow.some((e) => {
    const entry = e.toLowerCase();
    if (entry.startsWith("*.")) return h.endsWith(entry.slice(1)) && h.length > entry.length - 1;
    return entry === h;
  });
}

function ipAllowedByList(ip: string, allow: string[]): boolean {
  const n = normaliseIp(ip);
  const list = new BlockList();
  let any = false;
  for (const e of allow) {
    const [addr, bits] = e.split("/");
    const fam = isIP(addr ?? "");
    if (!fam) continue;
    any = true;
    if (bits === undefined) list.addAddress(addr!, fam === 6 ? "ipv6" : "ipv4");
    else list.addSubnet(addr!, Number(bits), fam === 6 ? "ipv6" : "ipv4");
  }
  return any && list.check(n.ip, n.family);
}

/** Why an address may not be contacted for `host`, or null when it may. */
export function addressRefusal(host: string, ip: string, policy: OutboundPolicy): string | null {
  if (hostAllowedByName(host, policy.allow) || ipAllowedByList(ip, policy.allow)) return null;
  if (isPublicAddress(ip)) return policy.allowPublic ? null : `${ip} is not on the allow list`;
  return `${ip} is a private, loopback or link-local address`;
}

export function policyFromConfig(config: { OUTBOUND_ALLOW?: string; OUTBOUND_ALLOW_PUBLIC?: boolean }): OutboundPolicy {
  return {
    allow: (config.OUTBOUND_ALLOW ?? "").split(/[,\s]+/).map((s) => s.trim()).filter(Boolean),
    allowPublic: config.OUTBOUND_ALLOW_PUBLIC ?? false,
  };
}

async function currentPolicy(): Promise<OutboundPolicy> {
  const { getConfig } = await import("../config");
  return policyFromConfig(getConfig());
}

function resolveAll(host: string): Promise<LookupAddress[]> {
  return new Promise((resolve, reject) => dnsLookup(host, { all: true, verbatim: true }, (err, addrs) => (err ? reject(err) : resolve(addrs))));
}

/**
 * Validates a URL someone typed: http(s) only, and every address its host resolves to allowed.
 * Throws OutboundBlockedError (400 naming `field`). Call it when the URL is saved AND use
 * `outboundFetch` / `outboundAgentOptions` when it is used (names can change what they resolve to).
 */
export async function assertOutboundAllowed(url: string, opts: { field?: string; policy?: OutboundPolicy } = {}): Promise<URL> {
  const field = opts.field ?? "url";
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new OutboundBlockedError(url, "not a URL", field);
  }
  if (u.protocol !== "http:" && u.protocol !== "https:") throw new OutboundBlockedError(url, `scheme ${u.protocol} is not http or https`, field);
  const policy = opts.policy ?? (await currentPolicy());
  const host = u.hostname.replace(/^\[|\]$/g, "");
  let addresses: string[];
  if (isIP(host)) addresses = [host];
  else {
    try {
      addresses = (await resolveAll(host)).map((a) => a.address);
    } catch {
      throw new OutboundBlockedError(url, `host ${host} does not resolve`, field);
    }
  }
  if (addresses.length === 0) throw new OutboundBlockedError(url, `host ${host} does not resolve`, field);
  for (const ip of addresses) {
    const why = addressRefusal(host, ip, policy);
    if (why) throw new OutboundBlockedError(url, why, field);
  }
  return u;
}

type LookupFn = NonNullable<http.RequestOptions["lookup"]>;

/** A `lookup` for http(s) agents that refuses, at connect time, any address the policy does not allow. */
export function guardedLookup(policy: OutboundPolicy): LookupFn {
  return ((hostname: string, options: object, callback: (...args: unknown[]) => void) => {
    dnsLookup(hostname, { ...(options as object), all: true }, (err, addrs) => {
      if (err) return callback(err);
      const list = addrs as LookupAddress[];
      const ok = list.filter((a) => !addressRefusal(hostname, a.address, policy));
      if (ok.length === 0) {
        const e = new OutboundBlockedError(`http://${hostname}/`, `${hostname} resolves only to addresses that are not allowed`);
        return callback(e);
      }
      if ((options as { all?: boolean }).all) return callback(null, ok);
      callback(null, ok[0]!.address, ok[0]!.family);
    });
  }) as LookupFn;
}

/** Options for `new http.Agent(...)` / `new https.Agent(...)` (e.g. for the AWS SDK's NodeHttpHandler) that enforce the policy per connection. */
export async function outboundAgentOptions(policy?: OutboundPolicy): Promise<{ lookup: LookupFn }> {
  return { lookup: guardedLookup(policy ?? (await currentPolicy())) };
}

/**
 * http and https agents that enforce the policy on every connection they open (DNS resolution included),
 * for the AWS SDK's request handler: `new S3Client({ requestHandler: { ...await outboundAgents() } })`.
 */
export async function outboundAgents(policy?: OutboundPolicy): Promise<{ httpAgent: http.Agent; httpsAgent: https.Agent }> {
  const p = policy ?? (await currentPolicy());
  const lookup = guardedLookup(p);
  return { httpAgent: guardAgent(new http.Agent({ lookup, keepAlive: true }), p), httpsAgent: guardAgent(new https.Agent({ lookup, keepAlive: true }), p) };
}

type CreateConnection = (options: { host?: string | null }, callback: (err: Error | null, socket?: unknown) => void) => unknown;

/**
 * Node connects to an IP address without calling `lookup`: the agent checks literal addresses itself
 * before opening the connection.
 */
function guardAgent<A extends http.Agent>(agent: A, policy: OutboundPolicy): A {
  const a = agent as unknown as { createConnection: CreateConnection };
  const original = a.createConnection.bind(agent);
  a.createConnection = (options, callback) => {
    const host = (options.host ?? "").replace(/^\[|\]$/g, "");
    const why = isIP(host) ? addressRefusal(host, host, policy) : null;
    if (why) {
      callback(new OutboundBlockedError(`http://${isIP(host) === 6 ? `[${host}]` : host}/`, why));
      return undefined;
    }
    return original(options, callback);
  };
  return agent;
}

/** True when `err` (or an error it wraps) is the guard refusing an address. */
export function isOutboundBlocked(err: unknown): boolean {
  for (let e = err as { code?: unknown; cause?: unknown } | undefined, depth = 0; e && depth < 5; e = e.cause as typeof e, depth++) {
    if (e instanceof OutboundBlockedError || e.code === "outbound_not_allowed") return true;
  }
  return false;
}

/**
 * What to tell a user about a failed request to `host` they named: whether the guard refused it, it
 * timed out, or the connection failed — without the far side's words or the socket error's details.
 */
export function describeOutboundFailure(err: unknown, host: string): string {
  if (isOutboundBlocked(err)) return `${host} is not an allowed target (an administrator can allow it with OUTBOUND_ALLOW)`;
  const e = err as { name?: string; code?: string } | undefined;
  if (e?.name === "TimeoutError" || e?.code === "ETIMEDOUT" || e?.name === "AbortError") return `no answer from ${host} in time`;
  return `could not connect to ${host}`;
}

export interface OutboundInit {
  method?: string;
  headers?: Record<string, string>;
  body?: string | Uint8Array;
  signal?: AbortSignal;
  /** Gives up after this long (default 10 s). */
  timeoutMs?: number;
}

/**
 * fetch() for user-typed URLs: checks the URL, pins the connection to allowed addresses, follows no
 * redirects (a 3xx is returned as is: a redirect could point anywhere).
 */
export async function outboundFetch(url: string, init: OutboundInit = {}, opts: { field?: string; policy?: OutboundPolicy } = {}): Promise<Response> {
  const policy = opts.policy ?? (await currentPolicy());
  const u = await assertOutboundAllowed(url, { ...opts, policy });
  const mod = u.protocol === "https:" ? https : http;
  const signal = AbortSignal.any([AbortSignal.timeout(init.timeoutMs ?? 10_000), ...(init.signal ? [init.signal] : [])]);
  return new Promise<Response>((resolve, reject) => {
    const req = mod.request(
      u,
      { method: init.method ?? "GET", headers: init.headers, lookup: guardedLookup(policy), agent: false, signal },
      (res) => {
        const headers = new Headers();
        for (const [k, v] of Object.entries(res.headers)) {
          if (v === undefined) continue;
          for (const one of Array.isArray(v) ? v : [v]) headers.append(k, one);
        }
        const status = res.statusCode ?? 502;
        const noBody = status === 204 || status === 304 || (init.method ?? "GET").toUpperCase() === "HEAD";
        if (noBody) res.resume();
        resolve(new Response(noBody ? null : (Readable.toWeb(res) as ReadableStream), { status, statusText: res.statusMessage, headers }));
      },
    );
    req.on("error", reject);
    if (init.body !== undefined) req.write(init.body);
    req.end();
  });
}
