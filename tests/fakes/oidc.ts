// A protocol-level fake OpenID Connect provider for tests, driven by next-auth's real OAuth client
// (openid-client): discovery, authorization code + PKCE, token endpoint with client_secret_basic, RS256
// id tokens, JWKS. "Signing in" at the provider is automatic, as `user` (change it between tests).
import { createHash, generateKeyPairSync, randomBytes, sign } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

export interface FakeOidcUser {
  sub: string;
  email?: string;
  email_verified?: boolean;
  name?: string;
}

export interface FakeOidc {
  issuer: string;
  clientId: string;
  clientSecret: string;
  user: FakeOidcUser;
  /** Token requests seen, with the client authentication they carried. */
  tokenRequests: Array<{ authorization: string | undefined; body: URLSearchParams }>;
  close(): Promise<void>;
}

const b64url = (b: Buffer | string) => Buffer.from(b).toString("base64url");

export async function startFakeOidc(opts: { user?: FakeOidcUser } = {}): Promise<FakeOidc> {
  const { publicKey, privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const jwk = { ...(publicKey.export({ format: "jwk" }) as object), kid: "k1", alg: "RS256", use: "sig" };
  const codes = new Map<string, { nonce?: string; user: FakeOidcUser; challenge?: string; redirectUri: string }>();
  const state: FakeOidc = {
    issuer: "",
    clientId: "sot-test-client",
    clientSecret: randomBytes(16).toString("hex"),
    user: opts.user ?? { sub: "u-1", email: "sso.person@example.test", email_verified: true, name: "SSO Person" },
    tokenRequests: [],
    close: async () => {},
  };

  const idToken = (user: FakeOidcUser, nonce?: string) => {
    const now = Math.floor(Date.now() / 1000);
    const header = b64url(JSON.stringify({ alg: "RS256", typ: "JWT", kid: "k1" }));
    const payload = b64url(JSON.stringify({ iss: state.issuer, aud: state.clientId, iat: now, exp: now + 300, ...user, ...(nonce ? { nonce } : {}) }));
    return `${header}.${payload}.${b64url(sign("RSA-SHA256", Buffer.from(`${header}.${payload}`), privateKey))}`;
  };

  const server: Server = createServer(async (req, res) => {
    const url = new URL(req.url ?? "/", state.issuer);
    const json = (status: number, body: unknown) => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(body));
    };
    if (url.pathname === "/.well-known/openid-configuration") {
      return json(200, {
        issuer: state.issuer,
        authorization_endpoint: `${state.issuer}/authorize`,
        token_endpoint: `${state.issuer}/token`,
        jwks_uri: `${state.issuer}/jwks`,
        userinfo_endpoint: `${state.issuer}/userinfo`,
        response_types_supported: ["code"],
        subject_types_supported: ["public"],
        id_token_signing_alg_values_supported: ["RS256"],
        token_endpoint_auth_methods_supported: ["client_secret_basic", "client_secret_post"],
        code_challenge_methods_supported: ["S256"],
        scopes_supported: ["openid", "email", "profile"],
      });
    }
    if (url.pathname === "/jwks") return json(200, { keys: [jwk] });
    if (url.pathname === "/authorize") {
      const redirectUri = url.searchParams.get("redirect_uri")!;
      if (url.searchParams.get("client_id") !== state.clientId) return json(400, { error: "unauthorized_client" });
      const code = randomBytes(12).toString("hex");
      codes.set(code, { nonce: url.searchParams.get("nonce") ?? undefined, user: { ...state.user }, challenge: url.searchParams.get("code_challenge") ?? undefined, redirectUri });
      const back = new URL(redirectUri);
      back.searchParams.set("code", code);
      const st = url.searchParams.get("state");
      if (st) back.searchParams.set("state", st);
      res.writeHead(302, { location: back.toString() });
      return res.end();
    }
    if (url.pathname === "/token" && req.method === "POST") {
      let raw = "";
      for await (const chunk of req) raw += chunk;
      const body = new URLSearchParams(raw);
      state.tokenRequests.push({ authorization: req.headers.authorization, body });
      const expected = `Basic ${Buffer.from(`${encodeURIComponent(state.clientId)}:${encodeURIComponent(state.clientSecret)}`).toString("base64")}`;
      const viaPost = body.get("client_id") === state.clientId && body.get("client_secret") === state.clientSecret;
      if (req.headers.authorization !== expected && !viaPost) return json(401, { error: "invalid_client" });
      const grant = codes.get(body.get("code") ?? "");
      if (!grant) return json(400, { error: "invalid_grant" });
      codes.delete(body.get("code")!);
      if (grant.challenge) {
        const verifier = body.get("code_verifier") ?? "";
        if (b64url(createHash("sha256").update(verifier).digest()) !== grant.challenge) return json(400, { error: "invalid_grant", error_description: "PKCE" });
      }
      return json(200, { access_token: randomBytes(16).toString("hex"), token_type: "Bearer", expires_in: 300, id_token: idToken(grant.user, grant.nonce), scope: "openid email profile" });
    }
    if (url.pathname === "/userinfo") return json(200, state.user);
    json(404, { error: "not found" });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  state.issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  state.close = () => new Promise<void>((r) => server.close(() => r()));
  return state;
}
