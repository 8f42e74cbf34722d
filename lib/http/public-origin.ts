// The address people and tools reach the app under, for absolute links in API answers (citation URLs,
// the MCP server's protected-resource metadata, the Connect page's snippets). PUBLIC_URL when set;
// otherwise what the request says, as nginx forwards it (X-Forwarded-Proto/Host), so links work on a LAN
// without configuration.
import { getConfig } from "../config";

export function publicOrigin(request: { headers: Headers; url?: string }, publicUrl: string | undefined = getConfig().PUBLIC_URL): string {
  if (publicUrl) return publicUrl.replace(/\/+$/, "");
  const h = request.headers;
  const url = request.url ? new URL(request.url) : null;
  const host = h.get("x-forwarded-host")?.split(",")[0]?.trim() || h.get("host") || url?.host || "localhost";
  const proto = h.get("x-forwarded-proto")?.split(",")[0]?.trim() || url?.protocol.replace(/:$/, "") || "http";
  return `${proto === "https" ? "https" : "http"}://${host}`;
}
