// The browser's one way to call the app's own API: same origin, the session cookie, JSON in and out, and
// the route wrapper's error shape ({error: {code, message, details, requestId}}, lib/http/route.ts) turned
// into one readable message. Components never parse error bodies themselves.
// Framework-free and free of server imports, so client components may import it.

/** One field (or line of a file) the server named as wrong: `details` of a 400/409/422. */
export interface ApiErrorDetail {
  path: string;
  message: string;
}

export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly code: string | null,
    readonly details: ApiErrorDetail[],
    readonly requestId: string | null,
  ) {
    super(message);
    this.name = "ApiError";
  }

  /** The message with the fields the server named, e.g. "Invalid input (email: must be an e-mail address)". */
  get fullMessage(): string {
    const fields = this.details.map((d) => (d.path && d.path !== "(root)" ? `${d.path}: ${d.message}` : d.message)).join("; ");
    return fields && !this.message.includes(fields) ? `${this.message} (${fields})` : this.message;
  }
}

/** Reads an error response: the wrapper's JSON when present, otherwise the status alone. */
export async function apiErrorFrom(res: Response): Promise<ApiError> {
  const body = (await res.json().catch(() => null)) as { error?: { code?: unknown; message?: unknown; details?: unknown; requestId?: unknown } } | null;
  const err = body?.error;
  const details = Array.isArray(err?.details)
    ? (err.details as Array<Record<string, unknown>>).map((d) => ({
        // A field ("email", "target.config.url"), or a line of an imported file.
        path: d.path != null ? String(d.path) : d.line != null ? `line ${String(d.line)}` : "",
        message: String(d.message ?? ""),
      }))
    : [];
  const message = typeof err?.message === "string" && err.message ? err.message : `The server answered ${res.status}${res.statusText ? ` ${res.statusText}` : ""}.`;
  return new ApiError(message, res.status, typeof err?.code === "string" ? err.code : null, details, typeof err?.requestId === "string" ? err.requestId : null);
}

export interface ClientFetchInit extends Omit<RequestInit, "body"> {
  /** Sent as JSON with content-type application/json. */
  json?: unknown;
  /** Sent as is (FormData for uploads, or a prepared string). */
  body?: BodyInit;
}

function requestInit(init: ClientFetchInit): RequestInit {
  const { json, headers, ...rest } = init;
  if (json === undefined) return { ...rest, headers };
  return { ...rest, headers: { "content-type": "application/json", ...(headers as Record<string, string> | undefined) }, body: JSON.stringify(json) };
}

/** A successful Response (for streams), or an ApiError thrown with the server's message. */
export async function fetchOk(url: string, init: ClientFetchInit = {}): Promise<Response> {
  const res = await fetch(url, requestInit(init));
  if (!res.ok) throw await apiErrorFrom(res);
  return res;
}

/** Calls the API and returns its JSON body as T; throws ApiError on an error status. */
export async function fetchJson<T>(url: string, init: ClientFetchInit = {}): Promise<T> {
  const res = await fetchOk(url, { cache: "no-store", ...init });
  if (res.status === 204) return undefined as T;
  return (await res.json()) as T;
}

/**
 * Sends a file as the request body with upload progress (XMLHttpRequest: fetch reports none) and returns
 * the JSON answer as T; an error status becomes an ApiError exactly as in fetchJson.
 */
export function uploadJson<T>(url: string, body: Blob, opts: { contentType?: string; onProgress?: (fraction: number) => void } = {}): Promise<T> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", url);
    xhr.setRequestHeader("content-type", opts.contentType ?? "application/octet-stream");
    xhr.upload.onprogress = (e) => {
      if (e.lengthComputable) opts.onProgress?.(e.loaded / e.total);
    };
    xhr.onload = () => {
      const res = new Response(xhr.responseText || null, { status: xhr.status, statusText: xhr.statusText });
      if (!res.ok) apiErrorFrom(res).then(reject, reject);
      else res.json().then((v) => resolve(v as T), reject);
    };
    xhr.onerror = () => reject(new Error("The upload failed (network error)."));
    xhr.send(body);
  });
}

/** The message to show for anything a call threw (an ApiError's fields included, or a network failure). */
export function errorMessage(err: unknown): string {
  if (err instanceof ApiError) return err.fullMessage;
  if (err instanceof Error) return err.name === "TypeError" ? `The server could not be reached (${err.message}).` : err.message;
  return String(err);
}
