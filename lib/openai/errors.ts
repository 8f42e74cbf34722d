// The OpenAI-compatible API's refusals in OpenAI's own shape, `{error: {message, type, param, code}}`, with
// the status OpenAI would use, so the official SDKs raise their usual error classes (BadRequestError,
// AuthenticationError, NotFoundError, RateLimitError, …). The route wrapper decides the status from the
// typed error as everywhere else; only the body's shape differs.
import { AppError } from "../errors";

/** A refusal that names the request field at fault (OpenAI's `param`, e.g. `messages[2].content`). */
export class OpenAiRequestError extends AppError {
  constructor(status: number, code: string, message: string, param: string | null = null) {
    super(status, code, message, { param });
  }
}

/** OpenAI's `type` for a status. */
export function errorType(status: number): string {
  if (status === 401) return "invalid_request_error";
  if (status === 403) return "permission_error";
  if (status === 429) return "rate_limit_error";
  if (status >= 500) return "server_error";
  return "invalid_request_error";
}

/** Our error codes where OpenAI has its own name for the same thing. */
const OPENAI_CODES: Record<string, string> = {
  unauthorized: "invalid_api_key",
  rate_limited: "rate_limit_exceeded",
  payload_too_large: "request_too_large",
  method_not_allowed: "method_not_allowed",
};

/** `messages.2.content` → `messages[2].content` (OpenAI's way of naming a field). */
export function openAiParam(path: string): string {
  return path.replace(/\.(\d+)(?=\.|$)/g, "[$1]");
}

function paramOf(err: AppError): string | null {
  const d = err.details;
  if (d && !Array.isArray(d) && typeof d.param === "string") return d.param;
  if (Array.isArray(d) && typeof d[0]?.path === "string" && d[0].path !== "(body)" && d[0].path !== "(root)") return openAiParam(d[0].path);
  return null;
}

export function openAiErrorBody(err: AppError) {
  return { error: { message: err.message, type: errorType(err.status), param: paramOf(err), code: OPENAI_CODES[err.code] ?? err.code } };
}

/** The route wrapper's `renderError` for /v1. */
export function renderOpenAiError(err: AppError, requestId: string): Response {
  const headers = new Headers(err.headers);
  headers.set("content-type", "application/json; charset=utf-8");
  headers.set("cache-control", "no-store");
  headers.set("x-request-id", requestId);
  return new Response(JSON.stringify(openAiErrorBody(err)), { status: err.status, headers });
}
