// A real loopback HTTP server that receives the scheduler's webhook POSTs, for tests: records every
// notice, counts requests in progress (overall and per schedule), and can hold answers back to keep
// runs "in progress" for as long as a test needs.
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface SinkNotice {
  event: string;
  schedule: { id: string; name: string };
  run: { id: string };
  trigger: "schedule" | "manual";
  dueAt: string | null;
}

export interface WebhookSink {
  url: string;
  notices: SinkNotice[];
  inflight: number;
  maxInflight: number;
  maxInflightBySchedule: Map<string, number>;
  inflightBySchedule: Map<string, number>;
  /** "answer": reply at once (after `delayMs`); "hold": keep requests open until release(). */
  mode: "answer" | "hold";
  status: number;
  delayMs: number;
  /** Answers every held request. */
  release(): void;
  /** Resolves when `n` notices have arrived. */
  waitFor(n: number, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

export async function startWebhookSink(): Promise<WebhookSink> {
  const held: Array<() => void> = [];
  const waiters: Array<{ n: number; resolve: () => void }> = [];
  const sink: WebhookSink = {
    url: "",
    notices: [],
    inflight: 0,
    maxInflight: 0,
    maxInflightBySchedule: new Map(),
    inflightBySchedule: new Map(),
    mode: "answer",
    status: 204,
    delayMs: 0,
    release() {
      for (const answer of held.splice(0)) answer();
    },
    waitFor(n, timeoutMs = 60_000) {
      if (sink.notices.length >= n) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`webhook sink: ${sink.notices.length} of ${n} notices after ${timeoutMs} ms`)), timeoutMs);
        waiters.push({ n, resolve: () => (clearTimeout(timer), resolve()) });
      });
    },
    close: () =>
      new Promise((resolve) => {
        sink.release();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let raw = "";
    req.on("data", (c) => (raw += c));
    req.on("end", () => {
      const notice = JSON.parse(raw) as SinkNotice;
      const sid = notice.schedule.id;
      sink.notices.push(notice);
      sink.inflight++;
      sink.maxInflight = Math.max(sink.maxInflight, sink.inflight);
      const mine = (sink.inflightBySchedule.get(sid) ?? 0) + 1;
      sink.inflightBySchedule.set(sid, mine);
      sink.maxInflightBySchedule.set(sid, Math.max(sink.maxInflightBySchedule.get(sid) ?? 0, mine));
      for (const w of [...waiters]) {
        if (sink.notices.length >= w.n) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve();
        }
      }
      let done = false;
      const answer = () => {
        if (done) return;
        done = true;
        sink.inflight--;
        sink.inflightBySchedule.set(sid, (sink.inflightBySchedule.get(sid) ?? 1) - 1);
        if (!res.destroyed) res.writeHead(sink.status).end();
      };
      // A caller that goes away (process killed) is no longer in progress here either.
      res.on("close", answer);
      if (sink.mode === "hold") held.push(answer);
      else setTimeout(answer, sink.delayMs);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  sink.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  return sink;
}
