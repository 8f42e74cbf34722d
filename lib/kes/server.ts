// KES over HTTP (workers/kes.ts starts it): parses the request into a KesCall and answers the reply.
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { handleKesCall, type KesInstance } from "./protocol";

const MAX_BODY = 64 * 1024;

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let size = 0;
    const parts: Buffer[] = [];
    req.on("data", (d: Buffer) => {
      size += d.length;
      if (size > MAX_BODY) {
        reject(Object.assign(new Error(`body is larger than ${MAX_BODY} bytes`), { status: 413 }));
        req.destroy();
      } else parts.push(d);
    });
    req.on("end", () => resolve(Buffer.concat(parts).toString("utf8")));
    req.on("error", reject);
  });
}

export interface KesServer {
  url: string;
  server: Server;
  close(): Promise<void>;
}

export async function startKesServer(inst: KesInstance, opts: { host?: string; port?: number } = {}): Promise<KesServer> {
  const server = createServer(async (req, res) => {
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { "content-type": "application/json", "cache-control": "no-store" });
      res.end(JSON.stringify(body));
    };
    const path = (req.url ?? "/").split("?")[0]!;
    if (req.method === "GET" && path === "/health") return send(inst.ring ? 200 : 503, { ok: !!inst.ring, masterKey: !!inst.ring });
    const m = /^\/v1\/([a-z.-]+)$/.exec(path);
    if (!m) return send(404, { error: { code: "not_found", message: `unknown path ${path}: use POST /v1/<operation> or GET /health` } });
    if (req.method !== "POST") return send(405, { error: { code: "method_not_allowed", message: "use POST" } });
    let body: unknown;
    try {
      const text = await readBody(req);
      body = text ? JSON.parse(text) : {};
    } catch (err) {
      const status = (err as { status?: number }).status ?? 400;
      return send(status, { error: { code: status === 413 ? "payload_too_large" : "invalid_json", message: status === 413 ? (err as Error).message : "body is not valid JSON" } });
    }
    const header = (n: string) => (typeof req.headers[n] === "string" ? (req.headers[n] as string) : null);
    const reply = await handleKesCall(inst, {
      op: m[1]!,
      authorization: header("authorization"),
      onBehalfOf: header("x-kes-on-behalf-of"),
      requestId: header("x-request-id") ?? undefined,
      body,
    });
    send(reply.status, reply.body);
  });
  // Callers keep their connections (lib/kes/client.ts): hold an idle one for 30 s, not Node's 5 s, so a
  // steady caller rarely opens a new one. Node's clients close theirs before this (the Keep-Alive hint).
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port ?? 0, opts.host ?? "127.0.0.1", () => resolve());
  });
  const { address, port } = server.address() as AddressInfo;
  return {
    url: `http://${address.includes(":") ? `[${address}]` : address}:${port}`,
    server,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
