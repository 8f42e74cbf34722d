// POST /api/evaluate's two forms over the one pipeline: Server-Sent Events (one SSE event per AskEvent,
// `event: <name>` + `data: <json>`), or the final AskResult as one JSON document. Errors before the
// first event (bad collections, unknown conversation) are thrown so the route answers them with their
// HTTP status; errors after it arrive as an `error` event followed by `done`.
import type { AccessContext } from "../access/context";
import { isAppError } from "../errors";
import { sseStream } from "../http/sse";
import { log } from "../log";
import { ask } from "./ask";
import type { AskEvent, AskInput } from "./types";

export const sseFrame = (e: AskEvent) => `event: ${e.event}\ndata: ${JSON.stringify(e.data)}\n\n`;

export async function askHttp(ctx: AccessContext, input: AskInput & { stream?: boolean }, opts: { signal?: AbortSignal } = {}): Promise<Response | unknown> {
  if (input.stream === false) return ask(ctx, input, opts);

  const stream = sseStream(opts.signal);
  const write = (e: AskEvent) => stream.write(sseFrame(e));

  // Wait for the first event (or an early error) before answering, so early errors keep their status.
  let started!: () => void;
  const first = new Promise<void>((resolve) => (started = resolve));
  const run = ask(ctx, input, {
    signal: stream.signal,
    onEvent: (e) => {
      started();
      write(e);
    },
  });
  run.then(
    () => stream.close(),
    (err: Error) => {
      // A typed refusal (a budget used up between the check and the answer) says what it is; anything else
      // is logged and named only by the request id.
      if (isAppError(err)) write({ event: "error", data: { code: err.code, message: err.message } });
      else {
        log("error", "ask failed mid-stream", { error: err.message });
        write({ event: "error", data: { code: "internal", message: "The answer failed; the request id identifies it in the logs." } });
      }
      stream.close();
    },
  );
  await Promise.race([first, run]);
  return stream.response();
}
