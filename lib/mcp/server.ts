// The MCP server at /api/mcp: Streamable HTTP with the official SDK, stateless — a new server and
// transport for every request, holding nothing between requests — so it works behind nginx with several
// web processes and needs no sticky sessions. Each POST carries its own API key; the tools run with that
// key's access context. Answers are one JSON document, or an SSE stream when the client asked for
// progress notifications (only a stream can carry them before the result).
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { WebStandardStreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js";
import type { RequestHandlerExtra } from "@modelcontextprotocol/sdk/shared/protocol.js";
import type { CallToolResult, ServerNotification, ServerRequest } from "@modelcontextprotocol/sdk/types.js";
import type { AccessContext } from "../access/context";
import { isAppError } from "../errors";
import { isLlmUnavailable } from "../llm";
import { log } from "../log";
import { checkHostAndOrigin, checkToolScopes, unauthorized, wantsProgress } from "./auth";
import {
  askInput,
  askOutput,
  askTool,
  getDocumentInput,
  getDocumentOutput,
  getDocumentTool,
  listCollectionsOutput,
  listCollectionsTool,
  scoreInput,
  scoreOutputSchema,
  scoreTool,
  searchInput,
  searchOutput,
  searchTool,
  type ToolContext,
} from "./tools";

export const SERVER_INFO = { name: "project-sot", title: "Project SOT", version: "1.0.0" };

const INSTRUCTIONS =
  "Project SOT answers questions from the company wiki with cited sources. Use `ask` for a cited answer, " +
  "`search` for the passages themselves, `get_document` to read a whole page, `list_collections` to see which " +
  "collections you may read, and `score` to check how faithful an answer is to its sources. Cite sources by their " +
  "url when you pass answers on.";

const READ_ONLY = { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false } as const;

type Extra = RequestHandlerExtra<ServerRequest, ServerNotification>;

interface RequestScope {
  ctx: AccessContext;
  origin: string;
  requestId?: string;
}

/** A tool's result from its structured output (the same JSON as text for clients that read only text). */
function result(structured: Record<string, unknown>): CallToolResult {
  return { content: [{ type: "text", text: JSON.stringify(structured) }], structuredContent: structured };
}

/** A refusal the model can act on (isError), never an internal detail. */
function toolError(err: unknown, scope: RequestScope): CallToolResult {
  let message: string;
  if (isAppError(err) || isLlmUnavailable(err)) message = (err as Error).message;
  else {
    log("error", "MCP tool failed", { requestId: scope.requestId, error: (err as Error)?.message, stack: (err as Error)?.stack });
    message = `The tool failed on SOT's side; request id ${scope.requestId ?? "unknown"} identifies it in the logs.`;
  }
  return { content: [{ type: "text", text: message }], isError: true };
}

/** A server with SOT's tools, bound to one request's access context. */
export function createSotMcpServer(scope: RequestScope): McpServer {
  const server = new McpServer(SERVER_INFO, { capabilities: { tools: {} }, instructions: INSTRUCTIONS });
  const toolContext = (extra: Extra): ToolContext => ({
    ctx: scope.ctx,
    origin: scope.origin,
    signal: extra.signal,
    progress: async (progress, message) => {
      const token = extra._meta?.progressToken;
      if (token === undefined) return;
      await extra.sendNotification({ method: "notifications/progress", params: { progressToken: token, progress, message } }).catch(() => {});
    },
  });
  const run = async <T extends Record<string, unknown>>(work: () => Promise<T>): Promise<CallToolResult> => {
    try {
      return result(await work());
    } catch (err) {
      return toolError(err, scope);
    }
  };

  server.registerTool(
    "search",
    {
      title: "Search the wiki",
      description: "Finds the wiki passages most relevant to a query (hybrid vector and full-text search, reranked). Returns each passage with its page title, address, chunk id and scores.",
      inputSchema: searchInput,
      outputSchema: searchOutput,
      annotations: READ_ONLY,
    },
    (args, extra) => run(() => searchTool(toolContext(extra), args)),
  );
  server.registerTool(
    "ask",
    {
      title: "Ask the wiki",
      description: "Answers a question from the wiki with [n] citations, the sources they point to and the answer's query-log id. Says so when the wiki does not cover the question.",
      inputSchema: askInput,
      outputSchema: askOutput,
      // Read-only for the wiki; each answer is logged (the query log), as every question is.
      annotations: { ...READ_ONLY, idempotentHint: false },
    },
    (args, extra) => run(() => askTool(toolContext(extra), args)),
  );
  server.registerTool(
    "score",
    {
      title: "Score an answer's faithfulness",
      description: "Judges an answer against source passages (given, or retrieved from the wiki): lists its claims as supported, contradicted or not found, with a 1–5 hallucination score. Stores the score. Needs the \"score\" scope.",
      inputSchema: scoreInput,
      outputSchema: scoreOutputSchema,
      annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
    },
    (args, extra) => run(() => scoreTool(toolContext(extra), args)),
  );
  server.registerTool(
    "list_collections",
    {
      title: "List collections",
      description: "The wiki collections you may read, with their slugs (what `collections` arguments take) and document counts.",
      outputSchema: listCollectionsOutput,
      annotations: READ_ONLY,
    },
    (extra) => run(() => listCollectionsTool(toolContext(extra))),
  );
  server.registerTool(
    "get_document",
    {
      title: "Read a document",
      description: "A whole wiki page by its id (document_id in results) or address, section by section, if you may read it.",
      inputSchema: getDocumentInput,
      outputSchema: getDocumentOutput,
      annotations: READ_ONLY,
    },
    (args, extra) => run(() => getDocumentTool(toolContext(extra), args)),
  );
  return server;
}

/**
 * One HTTP request to /api/mcp: checks Host/Origin, authentication and the called tools' scopes, then
 * hands the already-parsed JSON-RPC body to a fresh server and transport.
 */
export async function handleMcpRequest(
  ctx: AccessContext | null,
  request: Request,
  body: unknown,
  opts: { origin: string; requestId?: string; badKey: boolean },
): Promise<Response> {
  checkHostAndOrigin(request.headers);
  if (!ctx) throw unauthorized(opts.origin, opts.badKey);
  checkToolScopes(ctx, body, opts.origin);
  const server = createSotMcpServer({ ctx, origin: opts.origin, requestId: opts.requestId });
  const transport = new WebStandardStreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: !wantsProgress(body) });
  await server.connect(transport);
  // The server lives as long as its answer: closing it when the client goes away ends any tool still running.
  request.signal?.addEventListener("abort", () => void server.close().catch(() => {}), { once: true });
  const response = await transport.handleRequest(request, { parsedBody: body });
  if (!(response.headers.get("content-type") ?? "").startsWith("text/event-stream")) await server.close();
  return response;
}
