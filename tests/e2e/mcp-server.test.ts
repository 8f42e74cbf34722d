// The MCP server (/api/mcp) against the real server, through the MCP SDK's own Client over Streamable
// HTTP: tools with input and output schemas and structured results, no sessions (sequential and
// parallel calls without one), 401 with resource_metadata, 403 insufficient_scope, Host/Origin checks,
// progress over SSE, the collection boundary — and the official conformance suite's server scenarios
// that apply to a tools-only server.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import http, { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import path from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport, StreamableHTTPError } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "@/tests/helpers/app";
import { ARCHIVE_CANARY, CANARY, LEAVE_URL, startConnectWorld, type ConnectWorld } from "@/tests/e2e/connect-fixtures";

const ROOT = path.resolve(import.meta.dirname, "..", "..");
const INIT = { jsonrpc: "2.0", id: 1, method: "initialize", params: { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "raw", version: "1" } } };

describe("MCP server (/api/mcp)", () => {
  let w: ConnectWorld;
  const mcpUrl = () => new URL(`${w.app.baseUrl}/api/mcp`);
  const clients: Client[] = [];

  async function connect(key: string | null): Promise<{ client: Client; transport: StreamableHTTPClientTransport }> {
    const transport = new StreamableHTTPClientTransport(mcpUrl(), { requestInit: { headers: key ? { authorization: `Bearer ${key}` } : {} } });
    const client = new Client({ name: "sot-e2e", version: "1.0.0" });
    await client.connect(transport);
    clients.push(client);
    return { client, transport };
  }
  const call = async (client: Client, name: string, args: Record<string, unknown> = {}) => (await client.callTool({ name, arguments: args })) as CallToolResult;
  const structured = (r: CallToolResult) => {
    expect(r.isError ?? false, JSON.stringify(r.content)).toBe(false);
    // The same JSON as text, for clients that read only text.
    expect(JSON.parse((r.content[0] as { text: string }).text)).toEqual(r.structuredContent);
    return r.structuredContent as any;
  };
  const errorText = (r: CallToolResult) => {
    expect(r.isError).toBe(true);
    return (r.content[0] as { text: string }).text;
  };
  const post = (body: unknown, headers: Record<string, string> = {}) =>
    fetch(mcpUrl(), { method: "POST", headers: { "content-type": "application/json", accept: "application/json, text/event-stream", ...headers }, body: JSON.stringify(body) });

  beforeAll(async () => {
    w = await startConnectWorld();
  });
  afterAll(async () => {
    for (const c of clients) await c.close().catch(() => {});
    await w?.stop();
  });

  it("lists its tools with input and output schemas; the read-only ones say so", async () => {
    const { client, transport } = await connect(w.keys.admin);
    expect(client.getServerVersion()?.name).toBe("project-sot");
    // Stateless: the server hands out no session.
    expect(transport.sessionId).toBeUndefined();
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual(["ask", "get_document", "list_collections", "score", "search"]);
    for (const t of tools) {
      expect(t.description!.length, t.name).toBeGreaterThan(20);
      expect(t.inputSchema.type).toBe("object");
      expect(t.outputSchema?.type, t.name).toBe("object");
      expect(t.annotations?.readOnlyHint, t.name).toBe(t.name !== "score");
    }
    expect(Object.keys(tools.find((t) => t.name === "search")!.inputSchema.properties!)).toEqual(["query", "collections", "k"]);
    expect(tools.find((t) => t.name === "search")!.inputSchema.required).toEqual(["query"]);
  });

  it("search: passages with title, address, chunk id, collection and scores", async () => {
    const { client } = await connect(w.keys.viewer);
    const r = structured(await call(client, "search", { query: "paid leave days per year", k: 3 }));
    expect(r.collections.map((c: any) => c.slug)).toEqual(["handbook"]);
    expect(r.passages.length).toBeGreaterThan(0);
    expect(r.passages.length).toBeLessThanOrEqual(3);
    const top = r.passages[0];
    expect(top).toMatchObject({ rank: 1, collection: "handbook", title: "Leave" });
    expect(top.url).toMatch(new RegExp(`^${LEAVE_URL}#[a-z-]+$`));
    expect(top.chunk_id).toMatch(/^[0-9a-f-]{36}$/);
    expect(top.text).toContain("twenty five days");
    expect(typeof top.scores.fused).toBe("number");
    const oncall = structured(await call(client, "search", { query: "on-call pages fifteen minutes", collections: ["Employee Handbook"], k: 1 })).passages[0];
    expect(oncall.url).toBe(`${w.app.baseUrl}/documents/${w.documents.oncall}?chunk=${oncall.chunk_id}#on-call`);
  });

  it("ask: a cited answer whose citation offsets point at its [n] markers, with sources and the query-log id", async () => {
    const { client } = await connect(w.keys.viewer);
    const r = structured(await call(client, "ask", { question: "How many days of paid leave do employees get per year?", collections: ["handbook"] }));
    expect(r.status).toBe("ok");
    expect(r.covered).toBe(true);
    expect(r.answer).toContain("twenty five days");
    expect(r.citations.length).toBe([...r.answer.matchAll(/\[\d+\]/g)].length);
    expect(r.citations.length).toBeGreaterThan(0);
    for (const c of r.citations) {
      expect(r.answer.slice(c.start_index, c.end_index)).toBe(`[${c.n}]`);
      expect(c.url).toBe(r.sources[c.n - 1].url);
      expect(r.sources[c.n - 1].cited).toBe(true);
    }
    const log = await w.app.db!.prisma.queryLog.findUniqueOrThrow({ where: { id: r.query_log_id } });
    expect(log.apiKeyId).not.toBeNull();
  });

  it("ask with progress: the answer comes as an SSE stream carrying progress notifications first", async () => {
    const { client } = await connect(w.keys.viewer);
    const progress: string[] = [];
    const r = (await client.callTool(
      { name: "ask", arguments: { question: "How many days of paid leave do employees get per year?" } },
      undefined,
      { onprogress: (p) => progress.push(p.message ?? "") },
    )) as CallToolResult;
    expect(structured(r).answer).toContain("twenty five days");
    expect(progress[0]).toMatch(/^Found \d+ passages/);
    // Plain calls are one JSON document; a call asking for progress is a stream.
    const headers = { authorization: `Bearer ${w.keys.viewer}`, "mcp-protocol-version": "2025-11-25" };
    const plain = await post({ jsonrpc: "2.0", id: 2, method: "tools/call", params: { name: "list_collections", arguments: {} } }, headers);
    expect(plain.headers.get("content-type")).toMatch(/^application\/json/);
    const streamed = await post({ jsonrpc: "2.0", id: 3, method: "tools/call", params: { name: "list_collections", arguments: {}, _meta: { progressToken: "p1" } } }, headers);
    expect(streamed.headers.get("content-type")).toMatch(/^text\/event-stream/);
    expect(await streamed.text()).toMatch(/^event: message\ndata: \{"result":/m);
  });

  it("score: the judge's claims and hallucination score, from given passages or the wiki's own", async () => {
    const { client } = await connect(w.keys.admin);
    const given = structured(
      await call(client, "score", { question: "How much leave?", output: "Twenty five days.", passages: [{ text: "Employees get twenty five days of paid leave per year." }] }),
    );
    expect(given.hallucination_score).toBeGreaterThanOrEqual(1);
    expect(given.hallucination_score).toBeLessThanOrEqual(5);
    expect(given.passages).toEqual([{ text: "Employees get twenty five days of paid leave per year.", title: null, url: null }]);
    const stored = await w.app.db!.prisma.score.findUniqueOrThrow({ where: { id: given.score_id } });
    expect(stored).toBeTruthy();
    const retrieved = structured(await call(client, "score", { question: "How many days of paid leave per year?", output: "Twenty five days.", retrieve: true, collections: ["handbook"] }));
    expect(retrieved.passages.some((p: any) => p.text.includes("twenty five days"))).toBe(true);
    expect(errorText(await call(client, "score", { question: "q", output: "o" }))).toMatch(/either `passages`.*or `retrieve: true`/);
  });

  it("list_collections and get_document: only what the key may read", async () => {
    const { client: admin } = await connect(w.keys.admin);
    expect(structured(await call(admin, "list_collections")).collections.map((c: any) => c.slug)).toEqual(["handbook", "payroll", "payroll-archive"]);
    const { client } = await connect(w.keys.handbookOnly);
    const listed = structured(await call(client, "list_collections")).collections;
    expect(listed).toEqual([{ id: w.collections.handbook, slug: "handbook", name: "Employee Handbook", description: "", documents: 2 }]);
    const byId = structured(await call(client, "get_document", { id: w.documents.leave }));
    expect(byId).toMatchObject({ id: w.documents.leave, title: "Leave", url: LEAVE_URL, collection: { slug: "handbook" }, truncated: false });
    expect(byId.chunks.map((c: any) => c.text).join("\n")).toContain("in proportion to their contract hours");
    expect(structured(await call(client, "get_document", { url: LEAVE_URL })).id).toBe(w.documents.leave);
    expect(structured(await call(client, "get_document", { url: `${w.app.baseUrl}/documents/${w.documents.oncall}` })).title).toBe("On-call");
    // Another collection's document answers like a missing one.
    const other = errorText(await call(client, "get_document", { id: w.documents.salaries }));
    const missing = errorText(await call(client, "get_document", { id: "00000000-0000-4000-8000-000000000000" }));
    expect(other).toMatch(/^No document with id .* that you may read\.$/);
    expect(missing).toMatch(/^No document with id .* that you may read\.$/);
    expect(other).not.toContain(CANARY);
    expect(errorText(await call(client, "get_document", {}))).toMatch(/`id` or its `url`/);
  });

  it("an unknown collection is an error naming near matches among readable ones, never a wider search", async () => {
    const { client } = await connect(w.keys.viewer);
    expect(errorText(await call(client, "search", { query: "leave", collections: ["handbok"] }))).toBe('Collection "handbok" was not found. Did you mean: handbook?');
    // payroll exists but the viewer may not read it: the same answer as a name that does not exist.
    expect(errorText(await call(client, "search", { query: "salary", collections: ["payroll"] }))).toBe('Collection "payroll" was not found. Available: handbook.');
    expect(errorText(await call(client, "ask", { question: "salary band?", collections: ["payrol"] }))).not.toMatch(/payroll/);
  });

  it("keeps a key inside its collections across every tool", async () => {
    // Control: the admin's key finds the canary, so the checks below could fail.
    const { client: admin } = await connect(w.keys.admin);
    expect(JSON.stringify(await call(admin, "search", { query: "salary band for engineers" }))).toContain(CANARY);
    for (const key of [w.keys.handbookOnly, w.keys.viewer]) {
      const { client } = await connect(key);
      const answers = JSON.stringify([
        await call(client, "search", { query: "salary band for engineers", k: 50 }),
        await call(client, "ask", { question: "What is the salary band for engineers?" }),
        await call(client, "list_collections"),
      ]);
      for (const secret of [CANARY, ARCHIVE_CANARY, w.collections.payroll, w.collections.archive, w.documents.salaries]) expect(answers).not.toContain(secret);
      expect(answers).not.toContain('"collection":"payroll');
      // Asked by id, the page answers like a missing one (the id in the message is the caller's own).
      const doc = JSON.stringify(await call(client, "get_document", { id: w.documents.salaries }));
      expect(doc).not.toContain(CANARY);
      expect(doc).toContain("that you may read");
    }
  });

  it("needs no session: two sequential and ten parallel calls, each POST answered on its own", async () => {
    const { client } = await connect(w.keys.viewer);
    const first = structured(await call(client, "search", { query: "leave", k: 1 }));
    const second = structured(await call(client, "search", { query: "on-call", k: 1 }));
    expect(first.passages[0].title).toBe("Leave");
    expect(second.passages[0].title).toBe("On-call");
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) => call(client, i % 2 ? "list_collections" : "search", i % 2 ? {} : { query: `paid leave ${i}`, k: 2 })),
    );
    for (const r of results) structured(r);
    // Any POST, from any client, without an initialize before it.
    const res = await post({ jsonrpc: "2.0", id: 9, method: "tools/list" }, { authorization: `Bearer ${w.keys.viewer}`, "mcp-protocol-version": "2025-11-25" });
    expect(res.status).toBe(200);
    expect(res.headers.get("mcp-session-id")).toBeNull();
    expect((await res.json()).result.tools).toHaveLength(5);
    // No server-initiated stream and no session to delete: GET and DELETE are 405, as clients expect.
    expect((await fetch(mcpUrl(), { method: "GET", headers: { accept: "text/event-stream", authorization: `Bearer ${w.keys.viewer}` } })).status).toBe(405);
    expect((await fetch(mcpUrl(), { method: "DELETE", headers: { authorization: `Bearer ${w.keys.viewer}` } })).status).toBe(405);
  });

  it("answers a missing or bad key with 401 and WWW-Authenticate resource_metadata, and serves that metadata", async () => {
    const metadata = `${w.app.baseUrl}/.well-known/oauth-protected-resource/api/mcp`;
    const none = await post(INIT);
    expect(none.status).toBe(401);
    expect(none.headers.get("www-authenticate")).toBe(`Bearer resource_metadata="${metadata}"`);
    const body = await none.json();
    expect(body).toMatchObject({ jsonrpc: "2.0", id: null, error: { code: -32000, data: { code: "unauthorized" } } });
    expect(body.error.message).toMatch(/Authorization: Bearer/);
    const bad = await post(INIT, { authorization: `Bearer sot_abcdefgh_${"x".repeat(43)}` });
    expect(bad.status).toBe(401);
    expect(bad.headers.get("www-authenticate")).toContain('error="invalid_token"');
    expect(bad.headers.get("www-authenticate")).toContain(`resource_metadata="${metadata}"`);
    const doc = await fetch(metadata);
    expect(doc.status).toBe(200);
    expect(await doc.json()).toMatchObject({ resource: `${w.app.baseUrl}/api/mcp`, bearer_methods_supported: ["header"], scopes_supported: ["ask", "score"] });
    // The SDK's client sees the 401 as such (not as "server unreachable").
    const err = await connect(null).catch((e) => e);
    expect(err).toBeInstanceOf(StreamableHTTPError);
    expect((err as StreamableHTTPError).code).toBe(401);
  });

  it("answers a tool call without the tool's scope with 403 insufficient_scope", async () => {
    const { client } = await connect(w.keys.viewer);
    const err = await call(client, "score", { question: "q", output: "o", passages: [{ text: "p" }] }).catch((e) => e);
    expect(err).toBeInstanceOf(StreamableHTTPError);
    expect((err as StreamableHTTPError).code).toBe(403);
    const res = await post(
      { jsonrpc: "2.0", id: 4, method: "tools/call", params: { name: "score", arguments: { question: "q", output: "o", passages: [{ text: "p" }] } } },
      { authorization: `Bearer ${w.keys.viewer}`, "mcp-protocol-version": "2025-11-25" },
    );
    expect(res.status).toBe(403);
    expect(res.headers.get("www-authenticate")).toMatch(/^Bearer error="insufficient_scope", scope="score", resource_metadata="/);
    // A score-only key connects and scores, but may not search.
    const { client: scorer } = await connect(w.keys.scoreOnly);
    structured(await call(scorer, "score", { question: "How much leave?", output: "Twenty five days.", passages: [{ text: "Twenty five days of leave." }] }));
    expect(((await call(scorer, "search", { query: "leave" }).catch((e) => e)) as StreamableHTTPError).code).toBe(403);
  });

  it("refuses other hosts and origins (DNS rebinding) before anything else", async () => {
    const send = (headers: Record<string, string>) =>
      new Promise<number>((resolve, reject) => {
        const url = mcpUrl();
        const req = http.request(
          { host: url.hostname, port: url.port, path: url.pathname, method: "POST", headers: { "content-type": "application/json", accept: "application/json, text/event-stream", authorization: `Bearer ${w.keys.viewer}`, ...headers } },
          (res) => {
            res.resume();
            resolve(res.statusCode!);
          },
        );
        req.on("error", reject);
        req.end(JSON.stringify(INIT));
      });
    expect(await send({ host: "evil.example.com" })).toBe(403);
    expect(await send({ host: `localhost:${mcpUrl().port}`, origin: "http://evil.example.com" })).toBe(403);
    expect(await send({ host: `localhost:${mcpUrl().port}`, origin: `http://localhost:${mcpUrl().port}` })).toBe(200);
  });

  describe("conformance (@modelcontextprotocol/conformance)", () => {
    // The suite's client sends no credentials: a small proxy adds the key, and passes Host and Origin
    // through unchanged so the DNS-rebinding scenario still tests the server's own checks.
    let proxy: Server;
    let proxyPort: number;
    beforeAll(async () => {
      proxyPort = await freePort();
      const target = mcpUrl();
      proxy = createServer((req, res) => {
        const up = http.request(
          { host: target.hostname, port: target.port, path: req.url, method: req.method, headers: { ...req.headers, authorization: `Bearer ${w.keys.viewer}` } },
          (upRes) => {
            res.writeHead(upRes.statusCode!, upRes.headers);
            upRes.pipe(res);
          },
        );
        up.on("error", () => res.destroy());
        req.pipe(up);
      });
      await new Promise<void>((r) => proxy.listen(proxyPort, "127.0.0.1", () => r()));
    });
    afterAll(async () => {
      await new Promise((r) => proxy?.close(r));
    });

    // The scenarios for what this server offers (tools, no prompts/resources/sampling/logging).
    for (const scenario of ["server-initialize", "ping", "tools-list", "dns-rebinding-protection"]) {
      it(`passes ${scenario}`, async () => {
        const out = mkdtempSync(path.join(tmpdir(), "sot-conformance-"));
        try {
          // Asynchronously: the proxy runs in this process.
          const child = spawn(
            process.execPath,
            [path.join(ROOT, "node_modules/@modelcontextprotocol/conformance/dist/index.js"), "server", "--url", `http://127.0.0.1:${proxyPort}/api/mcp`, "--scenario", scenario, "-o", out],
            { cwd: out, stdio: ["ignore", "pipe", "pipe"] },
          );
          let output = "";
          child.stdout.on("data", (d) => (output += d));
          child.stderr.on("data", (d) => (output += d));
          const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
          expect(code, output).toBe(0);
          expect(output).not.toMatch(/FAILURE/);
          expect(output).toMatch(/Passed: (\d+)\/\1, 0 failed/);
        } finally {
          rmSync(out, { recursive: true, force: true });
        }
      });
    }
  });
});
