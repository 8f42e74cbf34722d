// The one wrapper every route handler goes through: request id, authentication and permission,
// body/query/params parsing with zod, typed domain errors → HTTP statuses, JSON serialisation, logs.
// A handler only says what it needs and calls lib/.
import { randomUUID } from "node:crypto";
import { z } from "zod";
import { accessContextFor, type AccessContext } from "../access/context";
import { usageScopeFor, withUsage } from "../usage/scope";
import { resolvePrincipal } from "../auth/principal";
import { can, type Permission, type Principal } from "../auth/roles";
import { getDb, type Db } from "../db/client";
import { countTokenFailure } from "../agents/queries";
import {
  AgentTokenStoppedError,
  AppError,
  isAppError,
  PayloadTooLargeError,
  UnauthorizedError,
  ForbiddenError,
  UnsupportedMediaTypeError,
  ValidationError,
  zodIssuesToDetails,
} from "../errors";
import { isLlmUnavailable } from "../llm";
import { log } from "../log";
import { getConfig } from "../config";
import { observeHttpRequest, routePattern } from "../metrics";
import { assertSameOrigin } from "./csrf";
import { assertNoNul } from "./input-guard";
import { limitRequest, type RouteRateLimit } from "./rate-limit";

export const DEFAULT_MAX_BODY_BYTES = 1_000_000;

/** "agent": an agent's token or credential (lib/agents); users and API keys are refused with 403. */
type Access = Permission | "public" | "signature" | "agent";
type RouteContext = { params?: Promise<Record<string, string | string[]>> };

export interface RouteSpec<B extends z.ZodType | undefined, Q extends z.ZodType | undefined, P extends z.ZodType | undefined> {
  /** "public": anyone; "signature": the handler authenticates the body itself (webhooks). */
  permission: Access;
  body?: B;
  query?: Q;
  params?: P;
  /** Bodies over this are refused with 413 before parsing. */
  maxBodyBytes?: number;
  /** For callers without a principal: a named bucket of its own, or "none" (health checks). Default: the anonymous bucket. */
  rateLimit?: RouteRateLimit;
  /**
   * Renders a refusal in another shape than `errorResponse` (the OpenAI-compatible API speaks OpenAI's
   * error shape); statuses and headers still come from the typed error.
   */
  renderError?: (err: AppError, requestId: string) => Response;
}

type Infer<T> = T extends z.ZodType ? z.infer<T> : undefined;

export interface HandlerContext<B, Q, P, A extends Access> {
  request: Request;
  requestId: string;
  db: Db;
  body: B;
  query: Q;
  params: P;
  /** Present for every access level except "public" and "signature". */
  principal: A extends "public" | "signature" ? Principal | null : Principal;
  /**
   * The caller's access context (lib/access/context.ts): what every lib/ service takes. Null only on
   * "public" routes called anonymously and on "signature" routes.
   */
  access: A extends "public" | "signature" ? AccessContext | null : AccessContext;
  /** The raw body, for "signature" routes that verify an HMAC over it. */
  rawBody: A extends "signature" ? string : undefined;
}

export function json(data: unknown, init: ResponseInit = {}): Response {
  const headers = new Headers(init.headers);
  headers.set("content-type", "application/json; charset=utf-8");
  headers.set("cache-control", "no-store");
  return new Response(JSON.stringify(data), { ...init, headers });
}

function withRequestId(response: Response, requestId: string): Response {
  response.headers.set("x-request-id", requestId);
  return response;
}

export function errorResponse(err: AppError, requestId: string): Response {
  return json(
    { error: { code: err.code, message: err.message, ...(err.details ? { details: err.details } : {}), requestId } },
    { status: err.status, headers: { ...err.headers, "x-request-id": requestId } },
  );
}

/** Reads at most `limit` bytes of a body; throws 413 beyond. */
export async function readBodyLimited(request: Request, limit: number): Promise<Uint8Array> {
  const declared = Number(request.headers.get("content-length") ?? "NaN");
  if (Number.isFinite(declared) && declared > limit) throw new PayloadTooLargeError(limit);
  if (!request.body) return new Uint8Array();
  const reader = request.body.getReader();
  const parts: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel().catch(() => {});
      throw new PayloadTooLargeError(limit);
    }
    parts.push(value);
  }
  const out = new Uint8Array(size);
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.byteLength;
  }
  return out;
}

/** Parses a request part with its zod schema; a 400 ValidationError naming each wrong field otherwise. */
export function parseWith<T extends z.ZodType>(schema: T, value: unknown, where: string): z.infer<T> {
  const result = schema.safeParse(value);
  if (!result.success) {
    throw new ValidationError(
      `Invalid ${where}: ${result.error.issues.map((i) => `${i.path.join(".") || where} ${i.message}`).join("; ")}`,
      zodIssuesToDetails(result.error.issues).map((d) => ({ ...d, in: where })),
    );
  }
  return result.data;
}

function searchParamsObject(url: URL): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const key of new Set(url.searchParams.keys())) {
    const all = url.searchParams.getAll(key);
    out[key] = all.length > 1 ? all : all[0]!;
  }
  return out;
}

export function route<
  A extends Access,
  B extends z.ZodType | undefined = undefined,
  Q extends z.ZodType | undefined = undefined,
  P extends z.ZodType | undefined = undefined,
>(
  spec: RouteSpec<B, Q, P> & { permission: A },
  handler: (ctx: HandlerContext<Infer<B>, Infer<Q>, Infer<P>, A>) => Promise<unknown> | unknown,
): (request: Request, context?: RouteContext) => Promise<Response> {
  return async (request, context) => {
    const requestId = request.headers.get("x-request-id")?.slice(0, 64) || randomUUID();
    const started = performance.now();
    const url = new URL(request.url);
    let status = 500;
    let db: Db | undefined;
    let principal: Principal | null = null;
    // A call made with an agent token that ends refused or failed counts against the token's failure limit.
    let limitedChain: string[] | null = null;
    try {
      db = await getDb();
      if (spec.permission !== "public" && spec.permission !== "signature") {
        const resolved = await resolvePrincipal(db, request.headers);
        if (resolved === "bearer-invalid" || !resolved) {
          // A failed authentication is an anonymous request: it draws from the caller's address bucket.
          await limitRequest(db, request.headers, null);
          throw resolved ? new UnauthorizedError("The API key is invalid, revoked or expired.") : new UnauthorizedError();
        }
        // An agent token at one of its limits (lib/agents/tokens.ts) is refused until it is resumed.
        if (resolved.agent?.stopped) throw new AgentTokenStoppedError(resolved.agent.stopped, resolved.agent.tokenId!);
        if (resolved.agent?.failuresLeft != null) limitedChain = resolved.agent.chainIds;
        if (spec.permission === "agent") {
          if (resolved.kind !== "agent") throw new ForbiddenError("This is for agents: call it with an agent token (Authorization: Bearer sot_at_…).");
        } else if (!can(resolved, spec.permission)) {
          throw new ForbiddenError(`This needs the "${spec.permission}" permission, which you do not have.`);
        }
        principal = resolved;
      } else if (spec.permission === "public") {
        const resolved = await resolvePrincipal(db, request.headers);
        principal = resolved === "bearer-invalid" ? null : resolved;
      }
      // Access hardening (lib/http/csrf.ts, lib/http/rate-limit.ts): cookie mutations must come from this
      // site; every user and key draws from its own token bucket, anonymous callers from their address's,
      // shared by every web process.
      if (spec.permission !== "signature") assertSameOrigin(request, getConfig().PUBLIC_URL);
      await limitRequest(db, request.headers, principal, spec.rateLimit);

      let body: unknown = undefined;
      let rawBody: string | undefined;
      const limit = spec.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
      if (spec.body || spec.permission === "signature") {
        const type = request.headers.get("content-type") ?? "";
        if (!/^application\/json\b/i.test(type)) {
          throw new UnsupportedMediaTypeError(`Send the body as application/json (got ${type || "no content type"}).`);
        }
        rawBody = new TextDecoder().decode(await readBodyLimited(request, limit));
        let parsed: unknown;
        try {
          parsed = rawBody.length ? JSON.parse(rawBody) : undefined;
        } catch (err) {
          throw new ValidationError(`The body is not valid JSON: ${(err as Error).message}`, [{ path: "(body)", message: "invalid JSON" }]);
        }
        assertNoNul(parsed, "body");
        body = spec.body ? parseWith(spec.body, parsed, "body") : parsed;
      }
      const rawQuery = searchParamsObject(url);
      assertNoNul(rawQuery, "query");
      const query = spec.query ? parseWith(spec.query, rawQuery, "query") : undefined;
      const rawParams = (await context?.params) ?? {};
      assertNoNul(rawParams, "path");
      const params = spec.params ? parseWith(spec.params, rawParams, "path") : rawParams;

      const access = principal ? await accessContextFor(db, principal, { requestId }) : null;
      // Every model call the request makes (including a stream that outlives this handler) is recorded and
      // budgeted for the caller (lib/usage/scope.ts).
      const run = () => handler({ request, requestId, db, body, query, params, principal, access, rawBody } as never);
      const result = await (access ? withUsage(usageScopeFor(access), run) : run());
      const response = result instanceof Response ? result : json(result ?? { ok: true });
      response.headers.set("x-request-id", requestId);
      status = response.status;
      return response;
    } catch (err) {
      const appError =
        isAppError(err)
          ? err
          : isLlmUnavailable(err)
            ? new AppError(503, "model_unavailable", err.message)
            : null;
      const render = spec.renderError ?? errorResponse;
      if (appError) {
        status = appError.status;
        return withRequestId(render(appError, requestId), requestId);
      }
      status = 500;
      log("error", "unhandled error", { requestId, path: url.pathname, error: (err as Error)?.message, stack: (err as Error)?.stack });
      return withRequestId(render(new AppError(500, "internal", "Something went wrong on our side; the request id identifies it in the logs."), requestId), requestId);
    } finally {
      if (limitedChain && status >= 400 && db) {
        await countTokenFailure(db.sql, limitedChain).catch((err: Error) =>
          log("error", "could not count an agent token's failed call", { requestId, error: err.message }),
        );
      }
      log("info", "request", {
        requestId,
        method: request.method,
        path: url.pathname,
        status,
        ms: Math.round(performance.now() - started),
      });
      const params = await Promise.resolve(context?.params).catch(() => undefined);
      observeHttpRequest(request.method, routePattern(url.pathname, params), status, (performance.now() - started) / 1000);
    }
  };
}
