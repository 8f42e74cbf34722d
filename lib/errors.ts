// Typed domain errors. lib/ throws these; lib/http/route.ts maps them to HTTP statuses, so no route
// handler decides a status on its own.

export type ErrorDetails = Record<string, unknown> | Array<Record<string, unknown>>;

// Next.js may load lib/ more than once in one process (the web process's own copy and the bundles'),
// so an error can come from another copy of the class: a registry-wide symbol recognises it anyway.
const APP_ERROR = Symbol.for("sot.AppError");

export class AppError extends Error {
  readonly [APP_ERROR] = true;
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: ErrorDetails,
    readonly headers?: Record<string, string>,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

export function isAppError(err: unknown): err is AppError {
  return err instanceof AppError || (typeof err === "object" && err !== null && (err as Record<symbol, unknown>)[APP_ERROR] === true);
}

/** Input that is malformed (400) — `details` names the field(s): [{ path, message }]. */
export class ValidationError extends AppError {
  constructor(message: string, details?: ErrorDetails) {
    super(400, "invalid_input", message, details);
  }
}
/** Well-formed input that cannot be processed (422): a corrupt file, an impossible combination. */
export class UnprocessableError extends AppError {
  constructor(message: string, details?: ErrorDetails) {
    super(422, "unprocessable", message, details);
  }
}
export class UnauthorizedError extends AppError {
  constructor(message = "Sign in or send an API key (Authorization: Bearer …).") {
    super(401, "unauthorized", message);
  }
}
export class ForbiddenError extends AppError {
  constructor(message = "You do not have permission to do this.") {
    super(403, "forbidden", message);
  }
}
export class NotFoundError extends AppError {
  constructor(what: string) {
    super(404, "not_found", `${what} was not found.`);
  }
}
export class ConflictError extends AppError {
  constructor(message: string, details?: ErrorDetails) {
    super(409, "conflict", message, details);
  }
}
export class PayloadTooLargeError extends AppError {
  constructor(limitBytes: number, what = "Request body") {
    super(413, "payload_too_large", `${what} is larger than the limit of ${limitBytes} bytes.`, { limitBytes });
  }
}
export class UnsupportedMediaTypeError extends AppError {
  constructor(message: string, details?: ErrorDetails) {
    super(415, "unsupported_media_type", message, details);
  }
}
export class RateLimitError extends AppError {
  constructor(retryAfterSeconds: number) {
    super(429, "rate_limited", `Too many requests; retry after ${retryAfterSeconds} s.`, { retryAfterSeconds }, {
      "Retry-After": String(retryAfterSeconds),
    });
  }
}

/** A budget is used up (429): the message names the budget and when its window resets. */
export class BudgetExhaustedError extends AppError {
  constructor(budget: string, resetsAt: Date) {
    const retryAfterSeconds = Math.max(1, Math.ceil((resetsAt.getTime() - Date.now()) / 1000));
    super(429, "budget_exhausted", `The ${budget} is used up; new work is refused until ${resetsAt.toISOString()}.`, { budget, resetsAt: resetsAt.toISOString() }, {
      "Retry-After": String(retryAfterSeconds),
    });
  }
}

/** An agent token reached one of its limits (429): it stays stopped until its owner or an admin resumes it. */
export class AgentTokenStoppedError extends AppError {
  constructor(limit: string, tokenId: string) {
    super(429, "limit_reached", `stopped: limit reached (${limit}); the agent's owner or an admin can resume the token (POST /api/agents/tokens/${tokenId}/resume).`, {
      limit,
      tokenId,
    });
  }
}

/** Turns zod issues into `[{ path, message }]` so a 400 names every field that is wrong. */
export function zodIssuesToDetails(issues: ReadonlyArray<{ path: ReadonlyArray<PropertyKey>; message: string }>) {
  return issues.map((i) => ({ path: i.path.map(String).join(".") || "(root)", message: i.message }));
}
