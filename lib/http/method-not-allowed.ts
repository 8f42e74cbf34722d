// Next.js answers a method a route file does not export with an empty 405. Under /api and /v1 every answer
// is JSON, so the web process (scripts/serve.ts) turns those empty 405s into the same error shape the route
// wrapper uses (OpenAI's shape under /v1, lib/openai/errors.ts). Next may flush the headers before ending
// the (empty) body, so the JSON content type is set when the headers go out and the JSON body written at
// the end if nothing else was.
import type { IncomingMessage, ServerResponse } from "node:http";

/** Patches `res` so an empty 405 for an /api or /v1 path becomes JSON. Call before handing the request to Next. */
export function jsonMethodNotAllowed(req: IncomingMessage, res: ServerResponse): void {
  const url = req.url ?? "";
  const openAi = url.startsWith("/v1/");
  if (!url.startsWith("/api/") && !openAi) return;
  const path = url.split("?")[0]!;
  let converting = false;
  let wroteBody = false;
  const prepare = () => {
    if (res.statusCode === 405 && !res.headersSent && !res.getHeader("content-type")) {
      converting = true;
      res.setHeader("content-type", "application/json; charset=utf-8");
      res.setHeader("cache-control", "no-store");
      res.removeHeader("content-length");
    }
  };
  const message = `${req.method} is not allowed on ${path}.`;
  const body = () =>
    JSON.stringify(
      openAi
        ? { error: { message, type: "invalid_request_error", param: null, code: "method_not_allowed" } }
        : { error: { code: "method_not_allowed", message } },
    );

  const writeHead = res.writeHead.bind(res) as (...a: unknown[]) => ServerResponse;
  res.writeHead = ((status: number, ...rest: unknown[]) => {
    res.statusCode = status;
    prepare();
    return writeHead(status, ...rest);
  }) as typeof res.writeHead;
  const flushHeaders = res.flushHeaders.bind(res);
  res.flushHeaders = () => {
    prepare();
    flushHeaders();
  };
  const write = res.write.bind(res) as (...a: unknown[]) => boolean;
  res.write = ((chunk: unknown, ...rest: unknown[]) => {
    if (chunk != null && (chunk as { length?: number }).length !== 0) wroteBody = true;
    else prepare();
    return write(chunk, ...rest);
  }) as typeof res.write;
  const end = res.end.bind(res) as (...args: unknown[]) => ServerResponse;
  res.end = ((...args: unknown[]) => {
    const first = args[0];
    const hasBody = first != null && typeof first !== "function" && (first as { length?: number }).length !== 0;
    if (!hasBody) prepare();
    if (converting && !hasBody && !wroteBody) {
      const cb = args.find((a) => typeof a === "function");
      return end(body(), cb);
    }
    return end(...args);
  }) as typeof res.end;
}
