// Who may talk to the MCP server, checked before any JSON-RPC is read:
// - Host and Origin (DNS rebinding): a web page on another site must not reach the server through the
//   user's browser. Allowed: the public address (PUBLIC_URL) and loopback names.
// - Authentication: the project's API keys as bearer tokens (or a signed-in session). Without one the
//   answer is 401 with `WWW-Authenticate: Bearer resource_metadata="…"` (RFC 9728), so MCP clients can tell
//   "needs credentials" from "server unreachable".
// - Scopes: a tool call needs its tool's scope (search/ask/list_collections/get_document: "ask"; score:
//   "score"); without it the answer is 403 with `error="insufficient_scope"` and the scope it needs.
import { can, type AccessContext } from "../access/context";
import type { Permission } from "../auth/roles";
import { getConfig } from "../config";
import { AppError, ForbiddenError } from "../errors";

export const MCP_PATH = "/api/mcp";
export const METADATA_PATH = `/.well-known/oauth-protected-resource${MCP_PATH}`;

/** The scope each tool needs. */
export const TOOL_SCOPES: Record<string, Permission> = {
  search: "ask",
  ask: "ask",
  list_collections: "ask",
  get_document: "ask",
  score: "score",
};

export const resourceUrl = (origin: string) => `${origin}${MCP_PATH}`;
export const metadataUrl = (origin: string) => `${origin}${METADATA_PATH}`;

/** The protected-resource metadata document (RFC 9728) for the MCP server. */
export function protectedResourceMetadata(origin: string) {
  return {
    resource: resourceUrl(origin),
    // Keys are issued by SOT itself (the Connect page, or an administrator), not by an OAuth
    // authorization server: there is none to name.
    bearer_methods_supported: ["header"],
    scopes_supported: [...new Set(Object.values(TOOL_SCOPES))],
    resource_name: "Project SOT",
    resource_documentation: `${origin}/connect`,
  };
}

const LOOPBACK = new Set(["localhost", "127.0.0.1", "[::1]", "::1"]);

function hostnameOf(host: string): string | null {
  try {
    return new URL(`http://${host}`).hostname.toLowerCase();
  } catch {
    return null;
  }
}

/** The host names the server answers under: loopback, PUBLIC_URL's and the configured listening address. */
export function allowedHostnames(config = getConfig()): Set<string> {
  const names = new Set(LOOPBACK);
  if (config.PUBLIC_URL) names.add(new URL(config.PUBLIC_URL).hostname.toLowerCase());
  if (config.HOST && config.HOST !== "0.0.0.0" && config.HOST !== "::") {
    const h = hostnameOf(config.HOST.includes(":") && !config.HOST.startsWith("[") ? `[${config.HOST}]` : config.HOST);
    if (h) names.add(h);
  }
  return names;
}

/** 403 for a Host or Origin that is not this server's (a DNS-rebinding page, another site). */
export function checkHostAndOrigin(headers: Headers, allowed = allowedHostnames()): void {
  const host = headers.get("host");
  const hostname = host ? hostnameOf(host) : null;
  if (!hostname || !allowed.has(hostname)) {
    throw new ForbiddenError(
      `The MCP server does not answer under the host ${JSON.stringify(host ?? "")}: use the app's own address (PUBLIC_URL) or localhost.`,
    );
  }
  const origin = headers.get("origin");
  if (origin) {
    let originHost: string | null = null;
    try {
      originHost = origin === "null" ? null : new URL(origin).hostname.toLowerCase();
    } catch {
      originHost = null;
    }
    if (!originHost || !allowed.has(originHost)) {
      throw new ForbiddenError(`Requests from the web page at ${origin} are refused: the MCP server answers its own origin and localhost only.`);
    }
  }
}

/** 401 with the pointer to the protected-resource metadata. */
export function unauthorized(origin: string, badKey: boolean): AppError {
  const challenge = badKey
    ? `Bearer error="invalid_token", error_description="The API key is invalid, revoked or expired.", resource_metadata="${metadataUrl(origin)}"`
    : `Bearer resource_metadata="${metadataUrl(origin)}"`;
  return new AppError(
    401,
    "unauthorized",
    badKey
      ? "The API key is invalid, revoked or expired."
      : "Send an API key: Authorization: Bearer sot_… (create one on the Connect page).",
    undefined,
    { "WWW-Authenticate": challenge },
  );
}

/** The JSON-RPC messages of a POST body (one, or a batch). */
function messagesOf(body: unknown): Array<{ method?: unknown; params?: { name?: unknown; _meta?: { progressToken?: unknown } } }> {
  const list = Array.isArray(body) ? body : [body];
  return list.filter((m) => typeof m === "object" && m !== null) as never;
}

/** 403 insufficient_scope when the body calls a tool whose scope the caller lacks. */
export function checkToolScopes(ctx: AccessContext, body: unknown, origin: string): void {
  for (const m of messagesOf(body)) {
    if (m.method !== "tools/call" || typeof m.params?.name !== "string") continue;
    const scope = TOOL_SCOPES[m.params.name];
    if (scope && !can(ctx, scope)) {
      throw new AppError(
        403,
        "insufficient_scope",
        `The tool "${m.params.name}" needs the "${scope}" scope, which this key does not have.`,
        { scope },
        { "WWW-Authenticate": `Bearer error="insufficient_scope", scope="${scope}", resource_metadata="${metadataUrl(origin)}"` },
      );
    }
  }
}

/** Whether the client asked for progress notifications: they need an SSE answer (JSON carries only the result). */
export function wantsProgress(body: unknown): boolean {
  return messagesOf(body).some((m) => m.params?._meta?.progressToken !== undefined);
}
