// The MCP server (/api/mcp) and its protected-resource metadata. README: "MCP server".
import { AppError } from "../errors";

export { handleMcpRequest, createSotMcpServer, SERVER_INFO } from "./server";
export { METADATA_PATH, MCP_PATH, TOOL_SCOPES, metadataUrl, protectedResourceMetadata, resourceUrl } from "./auth";

/**
 * The route wrapper's `renderError` for /api/mcp: HTTP-level refusals (401, 403, 413, 415, 429, a body
 * that is not JSON) in the JSON-RPC error envelope the MCP transport itself uses, with the status and
 * headers (WWW-Authenticate, Retry-After) of the typed error. `data.code` is SOT's error code.
 */
export function renderMcpError(err: AppError, requestId: string): Response {
  const notJson = err.code === "invalid_input" && Array.isArray(err.details) && err.details[0]?.message === "invalid JSON";
  const body = {
    jsonrpc: "2.0",
    id: null,
    error: { code: notJson ? -32700 : -32000, message: err.message, data: { code: err.code, requestId } },
  };
  const headers = new Headers(err.headers);
  headers.set("content-type", "application/json; charset=utf-8");
  headers.set("cache-control", "no-store");
  return new Response(JSON.stringify(body), { status: err.status, headers });
}
