// A Server-Sent Events response whose writer outlives the request handler: the handler starts the work, waits
// for its first event (so errors found before anything was sent keep their HTTP status), and returns the
// response while the work goes on writing frames. When the client goes away the stream's signal aborts the
// work, and later writes are dropped instead of throwing.

export const SSE_HEADERS = {
  "content-type": "text/event-stream; charset=utf-8",
  "cache-control": "no-cache, no-transform",
  connection: "keep-alive",
  // Nginx would otherwise buffer the stream and the tokens would arrive all at once.
  "x-accel-buffering": "no",
} as const;

export interface SseStream {
  /** Aborts when the client goes away (Stop button, closed tab, a dropped connection) or `outer` aborts. */
  signal: AbortSignal;
  /** Writes one frame (already formatted, ending in a blank line); does nothing once closed. */
  write(frame: string): void;
  /** Ends the stream; safe to call more than once. */
  close(): void;
  response(): Response;
}

export function sseStream(outer?: AbortSignal): SseStream {
  const abort = new AbortController();
  outer?.addEventListener("abort", () => abort.abort(), { once: true });
  const encoder = new TextEncoder();
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  let closed = false;
  const body = new ReadableStream<Uint8Array>({
    start: (c) => {
      controller = c;
    },
    cancel: () => {
      closed = true;
      abort.abort();
    },
  });
  return {
    signal: abort.signal,
    write(frame) {
      if (closed) return;
      try {
        controller.enqueue(encoder.encode(frame));
      } catch {
        closed = true;
      }
    },
    close() {
      if (!closed) controller.close();
      closed = true;
    },
    response: () => new Response(body, { headers: SSE_HEADERS }),
  };
}
