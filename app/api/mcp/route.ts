// POST /api/mcp — the MCP server (Streamable HTTP, stateless): tools search, ask, score, list_collections,
// get_document over the caller's access context. GET and DELETE are not offered (no sessions, no
// server-initiated stream): Next.js answers them 405, which MCP clients expect from a stateless server.
import { z } from "zod";
import { route } from "@/lib/http/route";
import { publicOrigin } from "@/lib/http/public-origin";
import { handleMcpRequest, renderMcpError } from "@/lib/mcp";

export const dynamic = "force-dynamic";

// "public" so the MCP server gives its own 401 (with WWW-Authenticate: Bearer resource_metadata=…);
// handleMcpRequest refuses every request without a caller.
export const POST = route({ permission: "public", body: z.unknown(), maxBodyBytes: 1_000_000, renderError: renderMcpError }, ({ access, body, request, requestId }) =>
  handleMcpRequest(access, request, body, { origin: publicOrigin(request), requestId, badKey: request.headers.has("authorization") }),
);
