// The pieces the OpenAI API, the MCP server and the Connect page share: collection names with near
// matches, citation offsets in the text handed out, passage links, Host/Origin checks, snippets.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { CitationParser } from "@/lib/answer/citations";
import type { AskResult } from "@/lib/answer/types";
import { buildSnippets, shellQuote } from "@/components/connect/snippets";
import { AnswerText } from "@/lib/connect/answer-text";
import { findCollection, nearMatches, unknownCollectionHint, type CollectionRef } from "@/lib/connect/collections";
import { passageLink } from "@/lib/connect/links";
import { checkHostAndOrigin, checkToolScopes, protectedResourceMetadata, wantsProgress } from "@/lib/mcp/auth";
import type { AccessContext } from "@/lib/access/context";

const col = (slug: string, name = slug): CollectionRef => ({ id: `00000000-0000-4000-8000-${slug.padEnd(12, "0").slice(0, 12).replace(/[^0-9a-f]/g, "a")}`, slug, name, description: "", createdAt: new Date(0) });
const readable = [col("handbook", "Employee Handbook"), col("engineering", "Engineering"), col("policies", "Policies")];

describe("collection names", () => {
  it("finds a collection by slug, id or name, in any case", () => {
    expect(findCollection(readable, "handbook")?.slug).toBe("handbook");
    expect(findCollection(readable, "HANDBOOK")?.slug).toBe("handbook");
    expect(findCollection(readable, "employee handbook")?.slug).toBe("handbook");
    expect(findCollection(readable, readable[1]!.id)?.slug).toBe("engineering");
    expect(findCollection(readable, "salaries")).toBeUndefined();
  });

  it("suggests near matches among readable collections only, else lists them", () => {
    expect(nearMatches(readable, "handbok")).toEqual(["handbook"]);
    expect(nearMatches(readable, "engineer")).toEqual(["engineering"]);
    expect(nearMatches(readable, "polices")).toEqual(["policies"]);
    expect(nearMatches(readable, "zzz")).toEqual([]);
    expect(unknownCollectionHint(readable, "handbok", "see the list")).toBe("Did you mean: handbook?");
    expect(unknownCollectionHint(readable, "zzz", "see the list")).toBe("Available: handbook, engineering, policies.");
    const many = Array.from({ length: 12 }, (_, i) => col(`c${i}x`));
    expect(unknownCollectionHint(many, "zzz", "see the list")).toBe("see the list");
    expect(unknownCollectionHint([], "handbook", "see the list")).toBe("You may not read any collection.");
  });
});

describe("AnswerText", () => {
  /** Streams `answer` through the real citation parser in the given pieces, as ask() does. */
  function pipeline(pieces: string[], sources: number) {
    const parser = new CitationParser(sources);
    const text = new AnswerText();
    for (const p of [...pieces.map((x) => parser.push(x)), parser.end()]) if (p.text) text.push(p.text);
    const result = { citations: parser.hits.map((h) => ({ n: h.n, chunkId: `chunk-${h.n}`, offset: h.offset })) } as AskResult;
    return { text, result, parser };
  }

  it("cuts blank space before the answer and shifts every citation with it", () => {
    const { text, result } = pipeline(["  \n ", "\tLeave is ", "25 days [", "1]. Part-timers [2][1", "]. All [1, 2]."], 2);
    expect(text.text).toBe("Leave is 25 days [1]. Part-timers [2][1]. All [1][2].");
    expect(text.citations(result)).toEqual([
      { n: 1, chunkId: "chunk-1", start: 17, end: 20 },
      { n: 2, chunkId: "chunk-2", start: 34, end: 37 },
      { n: 1, chunkId: "chunk-1", start: 37, end: 40 },
      // "[1, 2]" is rendered "[1][2]": each number at its own marker.
      { n: 1, chunkId: "chunk-1", start: 46, end: 49 },
      { n: 2, chunkId: "chunk-2", start: 49, end: 52 },
    ]);
  });

  it("places every citation on its [n] marker, however the answer is cut into tokens", () => {
    const word = fc.constantFrom("Leave", "is", "25", "days", "[1]", "[2]", "[9]", "[1, 2]", "`x[1]`", "\n", "  ", ".");
    fc.assert(
      fc.property(fc.array(word, { minLength: 1, maxLength: 30 }), fc.array(fc.integer({ min: 1, max: 6 }), { maxLength: 40 }), fc.string({ unit: fc.constantFrom(" ", "\n", "\t"), maxLength: 4 }), (words, cuts, lead) => {
        const answer = lead + words.join(" ");
        const pieces: string[] = [];
        let i = 0;
        for (const c of cuts) {
          if (i >= answer.length) break;
          pieces.push(answer.slice(i, i + c));
          i += c;
        }
        pieces.push(answer.slice(i));
        const { text, result, parser } = pipeline(pieces, 2);
        const placed = text.citations(result);
        expect(placed).toHaveLength(parser.hits.length);
        for (const c of placed) expect(text.text.slice(c.start, c.end)).toBe(`[${c.n}]`);
        expect(text.text).toBe(parser.text.trimStart());
      }),
      { numRuns: 300 },
    );
  });
});

describe("passage links", () => {
  it("uses the page's web address, else the app's document page at the passage", () => {
    const p = { documentId: "d1", chunkId: "c1", anchor: "leave" };
    expect(passageLink("https://sot.lan", { ...p, url: "https://www.notion.so/Leave-1#b" })).toBe("https://www.notion.so/Leave-1#b");
    expect(passageLink("https://sot.lan", { ...p, url: "https://wiki.example/leave" })).toBe("https://wiki.example/leave#leave");
    expect(passageLink("https://sot.lan", { ...p, anchor: null, url: "https://wiki.example/leave" })).toBe("https://wiki.example/leave");
    for (const url of ["demo://wiki/leave", "s3://bucket/a.md", null, "javascript:alert(1)", "not a url"]) {
      expect(passageLink("https://sot.lan", { ...p, url })).toBe("https://sot.lan/documents/d1?chunk=c1#leave");
    }
  });
});

describe("MCP access checks", () => {
  const allowed = new Set(["localhost", "127.0.0.1", "[::1]", "::1", "sot.lan"]);
  const h = (o: Record<string, string>) => new Headers(o);

  it("answers its own host and loopback, and refuses other hosts and origins (DNS rebinding)", () => {
    for (const host of ["sot.lan", "SOT.LAN:443", "localhost:3000", "127.0.0.1:8080", "[::1]:3000"]) expect(() => checkHostAndOrigin(h({ host }), allowed), host).not.toThrow();
    expect(() => checkHostAndOrigin(h({ host: "sot.lan", origin: "https://sot.lan" }), allowed)).not.toThrow();
    expect(() => checkHostAndOrigin(h({ host: "localhost:3000", origin: "http://localhost:6274" }), allowed)).not.toThrow();
    const refused: Array<Record<string, string>> = [{ host: "evil.example.com" }, { host: "sot.lan.evil.example" }, {}, { host: "sot.lan", origin: "https://evil.example" }, { host: "sot.lan", origin: "null" }];
    for (const headers of refused) {
      expect(() => checkHostAndOrigin(h(headers), allowed), JSON.stringify(headers)).toThrow(/refused|does not answer/);
    }
  });

  it("needs the tool's scope for tools/call, in single messages and batches", () => {
    const ctx = { principal: { permissions: new Set(["ask"]) } } as unknown as AccessContext;
    const call = (name: string) => ({ jsonrpc: "2.0", id: 1, method: "tools/call", params: { name, arguments: {} } });
    expect(() => checkToolScopes(ctx, call("search"), "https://sot.lan")).not.toThrow();
    expect(() => checkToolScopes(ctx, { jsonrpc: "2.0", id: 1, method: "tools/list" }, "https://sot.lan")).not.toThrow();
    try {
      checkToolScopes(ctx, [call("ask"), call("score")], "https://sot.lan");
      throw new Error("accepted");
    } catch (err) {
      const e = err as { status: number; code: string; headers: Record<string, string> };
      expect(e.status).toBe(403);
      expect(e.code).toBe("insufficient_scope");
      expect(e.headers["WWW-Authenticate"]).toBe(
        'Bearer error="insufficient_scope", scope="score", resource_metadata="https://sot.lan/.well-known/oauth-protected-resource/api/mcp"',
      );
    }
  });

  it("asks for an SSE answer only when the client wants progress", () => {
    expect(wantsProgress({ method: "tools/call", params: { name: "ask", _meta: { progressToken: 3 } } })).toBe(true);
    expect(wantsProgress({ method: "tools/call", params: { name: "ask" } })).toBe(false);
    expect(wantsProgress(null)).toBe(false);
  });

  it("describes the protected resource (RFC 9728)", () => {
    expect(protectedResourceMetadata("https://sot.lan")).toMatchObject({ resource: "https://sot.lan/api/mcp", bearer_methods_supported: ["header"], scopes_supported: ["ask", "score"] });
  });
});

describe("Connect snippets", () => {
  const s = buildSnippets({ origin: "https://sot.lan", key: "sot_abcdefgh_" + "K".repeat(43), model: "handbook", question: "What's the leave policy?" });

  it("fill in the address, key and model everywhere", () => {
    expect(s.openaiBaseUrl).toBe("https://sot.lan/v1");
    expect(s.mcpUrl).toBe("https://sot.lan/api/mcp");
    for (const text of [s.curl, s.node, s.python]) {
      expect(text).toContain("sot_abcdefgh_");
      expect(text).toContain("handbook");
    }
    expect(JSON.parse(s.vscode)).toEqual({ servers: { sot: { type: "http", url: "https://sot.lan/api/mcp", headers: { Authorization: `Bearer sot_abcdefgh_${"K".repeat(43)}` } } } });
    const claude = JSON.parse(s.claudeDesktop).mcpServers.sot;
    expect(claude.args).toContain("https://sot.lan/api/mcp");
    expect(claude.env.SOT_AUTH_HEADER).toBe(`Bearer sot_abcdefgh_${"K".repeat(43)}`);
  });

  it("quote the question for the shell (an apostrophe stays inside the JSON body)", () => {
    expect(shellQuote("it's")).toBe(`'it'"'"'s'`);
    expect(s.curl).toContain(`'{"model":"handbook","messages":[{"role":"user","content":"What'"'"'s the leave policy?"}]}'`);
  });
});
