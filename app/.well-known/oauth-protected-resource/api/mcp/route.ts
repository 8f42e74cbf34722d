// GET /.well-known/oauth-protected-resource/api/mcp — the MCP server's protected-resource metadata
// (RFC 9728), which its 401 answers point to.
import { route } from "@/lib/http/route";
import { publicOrigin } from "@/lib/http/public-origin";
import { protectedResourceMetadata } from "@/lib/mcp";

export const dynamic = "force-dynamic";

export const GET = route({ permission: "public" }, ({ request }) => protectedResourceMetadata(publicOrigin(request)));
