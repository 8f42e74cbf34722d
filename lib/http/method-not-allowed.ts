// Next.js answers a method a route file does not export with an empty 405. Under /api every answer is
// JSON, so the web process (scripts/serve.ts) rewrites those empty 405s into the same error shape the
// route wrapper uses, with an Allow header listing the methods the route does have.
import type { IncomingMessage, ServerResponse } from "node:http";

const METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"];

/** Patches `res` so an empty 405 for an /api path becomes JSON. Call before handing the request to Next. */
export function jsonMethodNotAllowed(req: IncomingMessage, res: ServerResponse, allowed?: (path: string) => string[] | undefined): void {
  if (!req.url?.startsWith("/api/")) return;
  const end = res.end.bind(res) as (...args: unknown[]) => ServerResponse;
  res.end = ((...args: unknown[]) => {
    const hasBody = args.length > 0 && typeof args[0] !== "function" && args[0] != null && (args[0] as { length?: number }).length !== 0;
    if (res.statusCode === 405 && !res.headersSent && !hasBody && !res.getHeader("content-type")) {
      const path = req.url!.split("?")[0]!;
      const allow = allowed?.(path);
      const body = JSON.stringify({
        error: {
          code: "method_not_allowed",
          message: `${req.method} is not allowed on ${path}${allow?.length ? `; use ${allow.join(", ")}` : ""}.`,
          ...(allow?.length ? { details: { allowed: allow } } : {}),
        },
      });
      res.setHeader("content-type", "application/json; charset=utf-8");
      res.setHeader("cache-control", "no-store");
      if (allow?.length) res.setHeader("allow", allow.join(", "));
      res.setHeader("content-length", Buffer.byteLength(body));
      const cb = args.find((a) => typeof a === "function");
      return end(body, cb);
    }
    return end(...args);
  }) as typeof res.end;
}

export { METHODS as API_METHODS };
