// Debian's nginx with the project's own deploy/nginx/sot.conf (only ports, certificate and paths swapped)
// in front of the real app on loopback, with a self-signed certificate made here: the config passes
// `nginx -t`, forwards requests with the security headers and request ids, serves static assets with long
// caching, redirects HTTP to HTTPS, and passes Server-Sent Events through unbuffered, token by token —
// and, with two web processes behind it, the stateless MCP server (JSON and SSE answers) and the
// OpenAI-compatible API's streamed answers.
import { mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import http from "node:http";
import https from "node:https";
import { tmpdir } from "node:os";
import path from "node:path";
import { Readable } from "node:stream";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ingestUploads } from "@/lib/ingest";
import { parseConfig } from "@/lib/config";
import { Llm } from "@/lib/llm";
import { startFakeOllama, type FakeOllama } from "../fakes/ollama";
import { freePort, startApp, type RunningApp } from "../helpers/app";
import { makeApiKey } from "../helpers/auth";
import { LEAVE_URL, startConnectWorld, type ConnectWorld } from "./connect-fixtures";
import { makeCert, NGINX, request, startNginx, type Answer, type Proxy } from "../helpers/nginx";

const ROOT = path.resolve(import.meta.dirname, "..", "..");

describe("nginx in front of the app (deploy/nginx/sot.conf)", () => {
  let app: RunningApp;
  let proxy: Proxy;
  let ollama: FakeOllama;
  let cert: { crt: string; key: string };
  const certDir = mkdtempSync(path.join(tmpdir(), "sot-cert-"));

  beforeAll(async () => {
    if (!NGINX) throw new Error("nginx is not installed: apt-get install nginx-light (.ci/run does)");
    cert = makeCert(certDir);
    // A slow-typing model: one token every 150 ms, so a buffering proxy would deliver them all at once.
    ollama = await startFakeOllama({ tokenDelayMs: 150, onChat: () => "Employees get twenty five days of leave per year [1]." });
    app = await startApp({ env: { OLLAMA_HOST: ollama.url, DEMO_WIKI: "false" } });
    proxy = await startNginx(Number(new URL(app.baseUrl).port), cert);
  });
  afterAll(async () => {
    await proxy?.stop();
    await app?.stop();
    await ollama?.close();
    rmSync(certDir, { recursive: true, force: true });
  });

  it("forwards to the app over TLS with the app's security headers, HSTS and nginx's request id", async () => {
    const res = await request(proxy.httpsPort, cert.crt, "/api/health");
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body).status).toMatch(/^(ok|degraded)$/);
    expect(res.headers["strict-transport-security"]).toBe("max-age=31536000");
    expect(res.headers["content-security-policy"]).toContain("frame-ancestors 'none'");
    expect(res.headers["x-content-type-options"]).toBe("nosniff");
    expect(res.headers["referrer-policy"]).toBe("same-origin");
    expect(res.headers["server"]).toBe("nginx");
    // nginx's $request_id reached the app, which echoes it: one id in both logs.
    expect(res.headers["x-request-id"]).toMatch(/^[0-9a-f]{32}$/);
    const log = readFileSync(path.join(proxy.dir, "access.log"), "utf8").trim().split("\n").map((l) => JSON.parse(l));
    expect(log.some((l) => l.requestId === res.headers["x-request-id"] && l.path === "/api/health" && l.status === 200)).toBe(true);
  });

  it("tells the app the original host and scheme (the sign-in page's links and CSRF checks rely on it)", async () => {
    // A cookie-authenticated POST from the proxied origin passes the CSRF check (it reaches the route: 401
    // for a cookie that is no session), one from another origin is refused with 403.
    const same = await request(proxy.httpsPort, cert.crt, "/api/admin/users", {
      method: "POST", headers: { cookie: "x=1", origin: "https://sot.lan", "content-type": "application/json" }, body: "{}",
    });
    expect(same.status).toBe(401);
    const cross = await request(proxy.httpsPort, cert.crt, "/api/setup", {
      method: "POST", headers: { cookie: "x=1", origin: "https://evil.example", "content-type": "application/json" }, body: "{}",
    });
    expect(cross.status).toBe(403);
  });

  it("serves build assets from disk with a year of immutable caching", async () => {
    const chunks = readdirSync(path.join(ROOT, ".next/static/chunks")).filter((f) => f.endsWith(".js"));
    const res = await request(proxy.httpsPort, cert.crt, `/_next/static/chunks/${chunks[0]}`);
    expect(res.status).toBe(200);
    expect(res.headers["cache-control"]).toBe("public, max-age=31536000, immutable");
    expect(res.headers["x-content-type-options"]).toBe("nosniff");
    expect((await request(proxy.httpsPort, cert.crt, "/_next/static/chunks/../../../package.json")).status).not.toBe(200);
  });

  it("redirects plain HTTP to HTTPS and refuses bodies over the upload limit", async () => {
    const res = await new Promise<{ status: number; location?: string }>((resolve, reject) =>
      http
        .get({ host: "127.0.0.1", port: proxy.httpPort, path: "/ask?q=1", headers: { host: "sot.lan" } }, (r) => {
          r.resume();
          resolve({ status: r.statusCode!, location: r.headers.location });
        })
        .on("error", reject),
    );
    expect(res.status).toBe(301);
    expect(res.location).toBe("https://sot.lan/ask?q=1");
    const big = await request(proxy.httpsPort, cert.crt, "/api/setup", {
      method: "POST", headers: { "content-type": "application/json", "content-length": String(26 * 1024 * 1024) }, body: "",
    }).catch(() => ({ status: 413 }) as Answer);
    expect(big.status).toBe(413);
  });

  it("streams an answer from POST /api/evaluate through nginx token by token", async () => {
    const db = app.db!;
    const collection = await db.prisma.collection.create({ data: { slug: "handbook", name: "Handbook" } });
    const llm = new Llm(parseConfig({ OLLAMA_HOST: ollama.url }));
    await ingestUploads(db, { collectionId: collection.id, llm, files: [{ name: "leave.md", bytes: new TextEncoder().encode("# Leave\n\nEmployees get twenty five days of leave per year.") }] });
    const { headers } = await makeApiKey(db, ["ask"]);
    const reads: string[][] = []; // the events each network read delivered
    const events: Array<{ event: string; data: any }> = [];
    await new Promise<void>((resolve, reject) => {
      const req = https.request(
        { host: "127.0.0.1", port: proxy.httpsPort, path: "/api/evaluate", method: "POST", servername: "sot.lan", ca: cert.crt,
          headers: { host: "sot.lan", "content-type": "application/json", accept: "text/event-stream", ...headers } },
        (res) => {
          expect(res.statusCode).toBe(200);
          expect(res.headers["content-type"]).toMatch(/^text\/event-stream/);
          let buf = "";
          res.setEncoding("utf8");
          res.on("data", (d: string) => {
            buf += d;
            const names: string[] = [];
            let i;
            while ((i = buf.indexOf("\n\n")) >= 0) {
              const raw = buf.slice(0, i);
              buf = buf.slice(i + 2);
              const event = /^event: (.*)$/m.exec(raw)?.[1] ?? "message";
              const data = /^data: (.*)$/m.exec(raw)?.[1];
              events.push({ event, data: data ? JSON.parse(data) : null });
              names.push(event);
            }
            if (names.length) reads.push(names);
          });
          res.on("end", () => resolve());
        },
      );
      req.on("error", reject);
      req.end(JSON.stringify({ question: "How many days of leave do employees get?", collections: [collection.id] }));
    });
    const tokens = events.filter((e) => e.event === "token");
    expect(tokens.length).toBeGreaterThanOrEqual(5);
    expect(tokens.map((t) => t.data.text).join("")).toContain("twenty five days");
    // Token by token: the tokens arrived spread over many reads, and the first one before the end.
    // Through a buffering proxy the whole short answer arrives in one read; unbuffered, the 150 ms gaps
    // between tokens keep them apart (the citation parser may hold one back and merge it with the next).
    const readsWithTokens = reads.filter((r) => r.includes("token")).length;
    expect(readsWithTokens).toBeGreaterThanOrEqual(Math.ceil(tokens.length / 2));
    expect(reads.findIndex((r) => r.includes("token"))).toBeLessThan(reads.findIndex((r) => r.includes("done")));
    expect(events.at(-1)!.event).toBe("done");
  }, 60_000);

  describe("Server-Sent Events", () => {
    // An upstream that sends token k+1 only after the client has received token k. Through a buffering
    // proxy the first token would never arrive and the test would time out; through sot.conf it streams.
    let sse: Server;
    let sseProxy: Proxy;
    let delivered: (n: number) => void = () => {};
    beforeAll(async () => {
      sse = createServer((req, res) => {
        if (req.url !== "/api/evaluate") {
          res.writeHead(404).end();
          return;
        }
        res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-store" });
        let n = 0;
        const send = () => {
          if (n === 5) {
            res.end("event: done\ndata: {}\n\n");
            return;
          }
          res.write(`event: token\ndata: ${JSON.stringify({ text: `t${n}` })}\n\n`);
          const expect = n++;
          delivered = (got) => {
            if (got === expect) send();
          };
        };
        send();
      });
      const port = await freePort();
      await new Promise<void>((r) => sse.listen(port, "127.0.0.1", () => r()));
      sseProxy = await startNginx(port, cert);
    });
    afterAll(async () => {
      await sseProxy?.stop();
      await new Promise((r) => sse?.close(r));
    });

    it("passes each event through as soon as it is written (token by token)", async () => {
      const tokens: string[] = [];
      await new Promise<void>((resolve, reject) => {
        const req = https.request(
          { host: "127.0.0.1", port: sseProxy.httpsPort, path: "/api/evaluate", method: "POST", servername: "sot.lan", ca: cert.crt, headers: { host: "sot.lan", accept: "text/event-stream" } },
          (res) => {
            expect(res.headers["content-type"]).toBe("text/event-stream");
            let buf = "";
            res.setEncoding("utf8");
            res.on("data", (d: string) => {
              buf += d;
              let i;
              while ((i = buf.indexOf("\n\n")) >= 0) {
                const event = buf.slice(0, i);
                buf = buf.slice(i + 2);
                const m = /^event: token\ndata: (.*)$/.exec(event);
                if (m) {
                  tokens.push(JSON.parse(m[1]!).text);
                  delivered(tokens.length - 1);
                }
              }
            });
            res.on("end", () => resolve());
          },
        );
        req.on("error", reject);
        req.end();
      });
      expect(tokens).toEqual(["t0", "t1", "t2", "t3", "t4"]);
    }, 20_000);
  });
});

describe("nginx in front of two web processes: the MCP server and the OpenAI-compatible API", () => {
  let world: ConnectWorld;
  let second: RunningApp;
  let proxy: Proxy;
  let cert: { crt: string; key: string };
  const certDir = mkdtempSync(path.join(tmpdir(), "sot-cert-"));

  /** fetch for https://sot.lan/… through the proxy, trusting the test certificate; bodies stream as they arrive. */
  const viaNginx: typeof fetch = (input, init = {}) =>
    new Promise((resolve, reject) => {
      const url = new URL(input instanceof Request ? input.url : String(input));
      const headers = Object.fromEntries(new Headers(init.headers ?? (input instanceof Request ? input.headers : undefined)).entries());
      const req = https.request(
        { host: "127.0.0.1", port: proxy.httpsPort, path: url.pathname + url.search, method: init.method ?? "GET", servername: "sot.lan", ca: cert.crt, headers: { ...headers, host: "sot.lan" } },
        (res) => {
          const out = new Headers();
          for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) out.set(k, Array.isArray(v) ? v.join(", ") : v);
          const empty = res.statusCode === 202 || res.statusCode === 204 || init.method === "HEAD";
          resolve(new Response(empty ? null : (Readable.toWeb(res) as ReadableStream), { status: res.statusCode, headers: out }));
        },
      );
      req.on("error", reject);
      init.signal?.addEventListener("abort", () => req.destroy(new Error("aborted")));
      if (init.body) req.write(typeof init.body === "string" ? init.body : Buffer.from(init.body as ArrayBuffer));
      req.end();
    });

  beforeAll(async () => {
    cert = makeCert(certDir);
    const env = { PUBLIC_URL: "https://sot.lan", LOG_LEVEL: "info" };
    // A slow-typing model (one token every 120 ms), so a buffering proxy would deliver the tokens at once.
    world = await startConnectWorld({ ollama: { tokenDelayMs: 120 }, env });
    second = await startApp({
      db: world.app.db,
      env: { OLLAMA_HOST: world.ollama.url, DEMO_WIKI: "false", RATE_LIMIT_PER_MINUTE: "100000", RATE_LIMIT_BURST: "100000", ...env },
    });
    proxy = await startNginx([Number(new URL(world.app.baseUrl).port), Number(new URL(second.baseUrl).port)], cert);
  });
  afterAll(async () => {
    await proxy?.stop();
    await second?.stop();
    await world?.stop();
    rmSync(certDir, { recursive: true, force: true });
  });

  it("serves MCP calls without sessions across both processes, as JSON and as SSE with progress", async () => {
    const mcpRequests = () => [world.app, second].map((a) => a.output().split("\n").filter((l) => l.includes('"path":"/api/mcp"')).length);
    const before = mcpRequests();
    const transport = new StreamableHTTPClientTransport(new URL("https://sot.lan/api/mcp"), {
      fetch: viaNginx,
      requestInit: { headers: { authorization: `Bearer ${world.keys.viewer}` } },
    });
    const client = new Client({ name: "sot-nginx", version: "1.0.0" });
    await client.connect(transport);
    try {
      expect((await client.listTools()).tools).toHaveLength(5);
      const search = async (query: string) => (await client.callTool({ name: "search", arguments: { query, k: 1 } })) as CallToolResult;
      expect(((await search("paid leave")).structuredContent as any).passages[0].url).toMatch(new RegExp(`^${LEAVE_URL}#`));
      expect(((await search("on-call pages")).structuredContent as any).passages[0].url).toMatch(/^https:\/\/sot\.lan\/documents\//);
      const parallel = await Promise.all(Array.from({ length: 10 }, (_, i) => search(`leave ${i}`)));
      for (const r of parallel) expect(r.isError ?? false).toBe(false);
      const progress: string[] = [];
      const answer = (await client.callTool({ name: "ask", arguments: { question: "How many days of paid leave do employees get per year?" } }, undefined, {
        onprogress: (p) => progress.push(p.message ?? ""),
      })) as CallToolResult;
      expect((answer.structuredContent as any).answer).toContain("twenty five days");
      expect(progress.length).toBeGreaterThan(0);
    } finally {
      await client.close();
    }
    // Both processes answered MCP requests: no request depended on one process's memory.
    const after = mcpRequests();
    expect(after[0]! - before[0]!).toBeGreaterThan(0);
    expect(after[1]! - before[1]!).toBeGreaterThan(0);
    const unauthorized = await viaNginx("https://sot.lan/api/mcp", { method: "POST", headers: { "content-type": "application/json", accept: "application/json, text/event-stream" }, body: "{}" });
    expect(unauthorized.status).toBe(401);
    expect(unauthorized.headers.get("www-authenticate")).toBe('Bearer resource_metadata="https://sot.lan/.well-known/oauth-protected-resource/api/mcp"');
    const metadata = await viaNginx("https://sot.lan/.well-known/oauth-protected-resource/api/mcp");
    expect((await metadata.json()).resource).toBe("https://sot.lan/api/mcp");
  }, 120_000);

  it("streams /v1/chat/completions through nginx chunk by chunk", async () => {
    const res = await viaNginx("https://sot.lan/v1/chat/completions", {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${world.keys.viewer}` },
      body: JSON.stringify({ model: "handbook", stream: true, messages: [{ role: "user", content: "How many days of paid leave do employees get per year?" }] }),
    });
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    const reads: number[] = []; // content chunks per network read
    let buf = "";
    let text = "";
    let done = false;
    while (!done) {
      const r = await reader.read();
      if (r.done) break;
      buf += decoder.decode(r.value, { stream: true });
      let n = 0;
      let i;
      while ((i = buf.indexOf("\n\n")) >= 0) {
        const data = buf.slice(0, i).replace(/^data: /, "");
        buf = buf.slice(i + 2);
        if (data === "[DONE]") {
          done = true;
          break;
        }
        const content = JSON.parse(data).choices[0]?.delta?.content;
        if (content) {
          text += content;
          n++;
        }
      }
      if (n) reads.push(n);
    }
    expect(done).toBe(true);
    expect(text).toContain("twenty five days");
    const chunks = reads.reduce((a, b) => a + b, 0);
    expect(chunks).toBeGreaterThanOrEqual(5);
    // Unbuffered, the 120 ms gaps between tokens keep them in separate reads.
    expect(reads.length).toBeGreaterThanOrEqual(Math.ceil(chunks / 2));
    // The citations point at SOT's public address behind nginx.
    const client = new OpenAI({ baseURL: "https://sot.lan/v1", apiKey: world.keys.viewer, fetch: viaNginx, maxRetries: 0 });
    const completion = await client.chat.completions.create({ model: "handbook", messages: [{ role: "user", content: "When does the on-call engineer answer pages?" }] });
    for (const a of completion.choices[0]!.message.annotations!) expect(a.url_citation.url).toMatch(/^https:\/\/sot\.lan\/documents\//);
  }, 120_000);
});
