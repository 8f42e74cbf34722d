// Who is calling: an API key (Authorization: Bearer sot_…), an agent (Bearer sot_at_… token or
// sot_agent_… credential) or a signed-in user (session cookie).
import type { Db } from "../db/client";
import { agentPrincipal } from "../agents/principal";
import { looksLikeAgentBearer } from "../agents/tokens";
import { principalFromApiKey } from "./api-keys";
import type { Principal } from "./roles";
import { principalFromCookies } from "./session";

export type { Principal, Permission, Role } from "./roles";
export { can } from "./roles";

/** "bearer-invalid" means a key was sent and refused: the caller gets 401, not a cookie fallback. */
export async function resolvePrincipal(db: Db, headers: Headers): Promise<Principal | null | "bearer-invalid"> {
  const auth = headers.get("authorization");
  if (auth) {
    const m = /^Bearer\s+(\S+)$/i.exec(auth);
    if (!m) return "bearer-invalid";
    if (looksLikeAgentBearer(m[1]!)) return (await agentPrincipal(db, m[1]!)) ?? "bearer-invalid";
    return (await principalFromApiKey(db, m[1]!)) ?? "bearer-invalid";
  }
  return principalFromCookies(db, headers.get("cookie"));
}
